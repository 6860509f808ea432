"""The Helm chart, rendered with the real `helm` and read back: what each overlay
claims is what it renders. Run by scripts/helm-check.sh (make helm-check, part
of make test) with HELM and PASOKH_BIN set; needs PyYAML (installed with
kubernetes-validate into the project's venv)."""
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "pasokh"
HELM = os.environ.get("HELM", "helm")
BIN = Path(os.environ.get("PASOKH_BIN", ROOT / "target" / "debug"))
KUBE_VERSION = "1.30.0"
PROVINCES = [line.split(",")[0] for line in (ROOT / "libs/domain/data/provinces.csv").read_text().splitlines()[1:]]
IMMUTABLE_SELECTOR_KEYS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "pasokh.mcls.gov.ir/province",
}


def helm_template(*files, sets=()):
    command = [HELM, "template", "pasokh", str(CHART), "--kube-version", KUBE_VERSION]
    for file in files:
        command += ["-f", str(CHART / file)]
    for value in sets:
        command += ["--set", value]
    return subprocess.run(command, capture_output=True, text=True)


def render(*files, sets=()):
    result = helm_template(*files, sets=sets)
    if result.returncode != 0:
        raise AssertionError(f"helm template {files} {sets} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_key(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod_specs(docs):
    """(kind/name, pod spec) of everything that runs containers."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            yield f"Pod/{doc['metadata']['name']}", doc["spec"]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


OVERLAYS = {
    "default": (),
    "dev": ("values-dev.yaml",),
    "production": ("values-production.yaml",),
    "event": ("values-production.yaml", "values-event-tehran-friday-prayer.yaml"),
    "all-features": ("ci/values-all-features.yaml",),
}


class Rendered(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = {name: render(*files) for name, files in OVERLAYS.items()}

    def intakes(self, overlay):
        return {
            d["metadata"]["labels"]["pasokh.mcls.gov.ir/province"]: d
            for d in self.docs[overlay]
            if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "intake"
        }

    def test_each_configured_province_has_its_own_intake_deployment_service_hpa_and_pdb(self):
        for overlay, expected in (("default", ["IR-23"]), ("dev", ["IR-23", "IR-25"]), ("production", PROVINCES)):
            with self.subTest(overlay=overlay):
                docs = by_key(self.docs[overlay])
                intakes = self.intakes(overlay)
                self.assertEqual(sorted(intakes), sorted(expected))
                for province in expected:
                    name = f"pasokh-intake-{province.lower()}"
                    deployment = docs[("Deployment", name)]
                    container = deployment["spec"]["template"]["spec"]["containers"][0]
                    self.assertEqual(env_of(container)["PASOKH__PROVINCE"]["value"], province)
                    self.assertEqual(
                        deployment["spec"]["selector"]["matchLabels"]["pasokh.mcls.gov.ir/province"], province
                    )
                    self.assertIn(("Service", name), docs)
                    self.assertIn(("PodDisruptionBudget", name), docs)
                    self.assertIn(("ConfigMap", name), docs)
                    autoscaled = overlay != "dev"
                    self.assertEqual(("HorizontalPodAutoscaler", name) in docs, autoscaled, name)
                    if autoscaled:
                        target = docs[("HorizontalPodAutoscaler", name)]["spec"]["scaleTargetRef"]
                        self.assertEqual((target["kind"], target["name"]), ("Deployment", name))
                        self.assertNotIn("replicas", deployment["spec"], "the HPA owns the replica count")
                    else:
                        self.assertEqual(deployment["spec"]["replicas"], 1)

    def test_a_province_entry_overrides_only_what_it_names(self):
        docs = by_key(self.docs["production"])
        tehran = docs[("HorizontalPodAutoscaler", "pasokh-intake-ir-23")]["spec"]
        qom = docs[("HorizontalPodAutoscaler", "pasokh-intake-ir-25")]["spec"]
        self.assertEqual((tehran["minReplicas"], tehran["maxReplicas"]), (4, 12))
        self.assertEqual((qom["minReplicas"], qom["maxReplicas"]), (2, 6))
        # the rest of Tehran's autoscaling comes from the defaults
        self.assertEqual(tehran["metrics"][0]["resource"]["target"]["averageUtilization"], 65)
        tehran_limits = json.loads(docs[("ConfigMap", "pasokh-intake-ir-23")]["data"]["config.json"])["limits"]
        self.assertEqual(tehran_limits["province_per_second"], 400)
        defaults = yaml.safe_load((CHART / "values.yaml").read_text())["intake"]["defaults"]["limits"]
        self.assertNotEqual(defaults["province_per_second"], 400)
        self.assertEqual(tehran_limits["per_ip_per_minute"], defaults["per_ip_per_minute"])

    def test_the_friday_prayer_overlay_changes_tehrans_intake_and_nothing_else(self):
        before, after = by_key(self.docs["production"]), by_key(self.docs["event"])
        self.assertEqual(before.keys(), after.keys(), "no resource appears or disappears")
        changed = {key for key in before if before[key] != after[key]}
        tehran = "pasokh-intake-ir-23"
        self.assertEqual(
            changed,
            {
                ("Deployment", tehran),
                ("ConfigMap", tehran),
                ("HorizontalPodAutoscaler", tehran),
                ("PodDisruptionBudget", tehran),
            },
        )
        hpa = after[("HorizontalPodAutoscaler", tehran)]["spec"]
        self.assertEqual((hpa["minReplicas"], hpa["maxReplicas"]), (10, 30))
        self.assertEqual(after[("PodDisruptionBudget", tehran)]["spec"]["minAvailable"], 6)
        container = after[("Deployment", tehran)]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["resources"]["limits"]["cpu"], "2")
        limits = json.loads(after[("ConfigMap", tehran)]["data"]["config.json"])["limits"]
        self.assertEqual((limits["province_per_second"], limits["per_ip_per_minute"]), (1500, 600))

    def test_no_container_runs_as_root_or_can_gain_privileges(self):
        for overlay, docs in self.docs.items():
            for name, spec in pod_specs(docs):
                with self.subTest(overlay=overlay, workload=name):
                    pod = spec["securityContext"]
                    self.assertIs(pod["runAsNonRoot"], True)
                    self.assertNotEqual(pod["runAsUser"], 0)
                    self.assertEqual(pod["seccompProfile"]["type"], "RuntimeDefault")
                    for container in spec["containers"]:
                        security = container["securityContext"]
                        self.assertIs(security["allowPrivilegeEscalation"], False)
                        self.assertIs(security["readOnlyRootFilesystem"], True)
                        self.assertIs(security.get("privileged", False), False)
                        self.assertIn("ALL", security["capabilities"]["drop"])
                        self.assertNotEqual(security.get("runAsUser", pod["runAsUser"]), 0)
                        self.assertIn("limits", container["resources"], f"{name} has limits")

    def test_every_deployment_has_probes_limits_and_a_grace_period_longer_than_its_drain(self):
        for overlay, docs in self.docs.items():
            for doc in (d for d in docs if d["kind"] == "Deployment"):
                with self.subTest(overlay=overlay, deployment=doc["metadata"]["name"]):
                    spec = doc["spec"]["template"]["spec"]
                    container = spec["containers"][0]
                    self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/healthz")
                    self.assertEqual(container["startupProbe"]["httpGet"]["path"], "/healthz")
                    self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz")
                    self.assertTrue({"cpu", "memory"} <= set(container["resources"]["limits"]))
                    self.assertTrue({"cpu", "memory"} <= set(container["resources"]["requests"]))
                    config = by_key(docs)[("ConfigMap", doc["metadata"]["name"])]
                    drain = json.loads(config["data"]["config.json"])["shutdown_drain_secs"]
                    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
                    self.assertGreater(spec["terminationGracePeriodSeconds"], drain + pause)
                    self.assertTrue(spec.get("topologySpreadConstraints") or overlay == "dev", "spread over zones and nodes")

    def test_selectors_use_only_immutable_labels_and_match_their_pods(self):
        for overlay, docs in self.docs.items():
            for doc in docs:
                selector = None
                if doc["kind"] in ("Deployment", "PodDisruptionBudget"):
                    selector = doc["spec"]["selector"]["matchLabels"]
                elif doc["kind"] == "Service":
                    selector = doc["spec"]["selector"]
                if selector is None:
                    continue
                with self.subTest(overlay=overlay, resource=f"{doc['kind']}/{doc['metadata']['name']}"):
                    self.assertLessEqual(set(selector), IMMUTABLE_SELECTOR_KEYS)
                    self.assertNotIn("app.kubernetes.io/version", selector)
                    if doc["kind"] == "Deployment":
                        labels = doc["spec"]["template"]["metadata"]["labels"]
                        self.assertLessEqual(selector.items(), labels.items())
                        self.assertEqual(labels["app.kubernetes.io/part-of"], "pasokh")

    def test_secret_values_are_never_rendered_only_referenced(self):
        for overlay, docs in self.docs.items():
            self.assertFalse([d for d in docs if d["kind"] == "Secret"], overlay)
            for name, spec in pod_specs(docs):
                for container in spec["containers"]:
                    env = env_of(container)
                    if "PASOKH__DATABASE__URL" in env:
                        self.assertIn("secretKeyRef", env["PASOKH__DATABASE__URL"]["valueFrom"], name)
                    for key, entry in env.items():
                        if "KEY" in key and key != "PASOKH__AUTH__ALLOW_DEV_KEY":
                            self.assertIn("valueFrom", entry, f"{name}: {key} comes from a Secret")
                    if env.get("PASOKH__AUTH__ALLOW_DEV_KEY"):
                        self.assertEqual(env["PASOKH__AUTH__ALLOW_DEV_KEY"]["value"], "false")

    def test_migrations_run_before_install_and_upgrade_one_job_per_database(self):
        jobs = [d for d in self.docs["default"] if d["kind"] == "Job"]
        self.assertEqual(
            sorted(j["metadata"]["name"] for j in jobs),
            sorted(f"pasokh-{c}-migrate" for c in ("intake", "routing", "notification", "reporting")),
        )
        for job in jobs:
            self.assertEqual(job["metadata"]["annotations"]["helm.sh/hook"], "pre-install,pre-upgrade")
            container = job["spec"]["template"]["spec"]["containers"][0]
            self.assertEqual(container["args"], ["migrate"])

    def test_helm_test_checks_every_intakes_readyz(self):
        for overlay in ("dev", "production"):
            pods = [d for d in self.docs[overlay] if d["kind"] == "Pod"]
            self.assertEqual(len(pods), 1)
            self.assertEqual(pods[0]["metadata"]["annotations"]["helm.sh/hook"], "test")
            script = pods[0]["spec"]["containers"][0]["args"][0]
            for province in self.intakes(overlay):
                self.assertIn(f"http://pasokh-intake-{province.lower()}:8080/readyz", script)

    def test_ingress_sends_each_province_to_its_own_intake(self):
        host_mode = next(d for d in self.docs["production"] if d["kind"] == "Ingress")
        routes = {r["host"]: r["http"]["paths"][0]["backend"]["service"]["name"] for r in host_mode["spec"]["rules"]}
        self.assertEqual(len(routes), 31)
        self.assertEqual(routes["ir-23.pasokh.mcls.gov.ir"], "pasokh-intake-ir-23")
        path_mode = next(d for d in self.docs["all-features"] if d["kind"] == "Ingress")
        paths = {p["path"]: p["backend"]["service"]["name"] for p in path_mode["spec"]["rules"][0]["http"]["paths"]}
        self.assertEqual(paths["/ir-25(/|$)(.*)"], "pasokh-intake-ir-25")
        self.assertEqual(path_mode["spec"]["tls"][0]["secretName"], "pasokh-tls")

    def test_optional_resources_are_off_by_default_and_render_when_enabled(self):
        optional = {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Ingress", "KafkaTopic", "KafkaUser"}
        self.assertFalse(optional & {d["kind"] for d in self.docs["default"]})
        self.assertLessEqual(optional, {d["kind"] for d in self.docs["all-features"]})
        rules = next(d for d in self.docs["production"] if d["kind"] == "PrometheusRule")
        alerts = {r["alert"] for r in rules["spec"]["groups"][0]["rules"]}
        self.assertEqual(alerts, {"PasokhSlaBreachRate", "PasokhConsumerLag", "PasokhOutboxBacklog", "PasokhHttp5xxRate"})

    def test_only_our_own_pods_reach_grpc_and_only_the_ingress_reaches_intake_http(self):
        policies = {d["metadata"]["name"]: d for d in self.docs["production"] if d["kind"] == "NetworkPolicy"}
        self.assertEqual(set(policies), {f"pasokh-{c}" for c in ("intake", "routing", "notification", "reporting")})
        for name, policy in policies.items():
            grpc = [rule for rule in policy["spec"]["ingress"] if rule["ports"][0]["port"] == "grpc"]
            self.assertEqual(len(grpc), 1, name)
            self.assertEqual(grpc[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "pasokh")
        intake_http = [r for r in policies["pasokh-intake"]["spec"]["ingress"] if r["ports"][0]["port"] == "http"]
        sources = [r["from"][0] for r in intake_http]
        self.assertIn({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}, sources)
        routing_http = [r for r in policies["pasokh-routing"]["spec"]["ingress"] if r["ports"][0]["port"] == "http"]
        self.assertEqual(len(routing_http), 1, "routing's HTTP (metrics) only from monitoring")

    def test_agencies_get_read_only_access_to_their_topics_and_nothing_else(self):
        users = [d for d in self.docs["production"] if d["kind"] == "KafkaUser" and d["metadata"]["name"].startswith("agency-")]
        self.assertEqual(len(users), 2)
        ours = {"pasokh.petition.lifecycle.v1", "pasokh.notification.delivery.v1"}
        for user in users:
            for acl in user["spec"]["authorization"]["acls"]:
                self.assertLessEqual(set(acl["operations"]), {"Read", "Describe"}, user["metadata"]["name"])
                if acl["resource"]["type"] == "topic":
                    self.assertIn(acl["resource"]["name"], ours)
                else:
                    self.assertEqual(acl["resource"]["type"], "group")
                    self.assertEqual(acl["resource"]["patternType"], "prefix")
        topics = {d["spec"]["topicName"]: d["spec"] for d in self.docs["production"] if d["kind"] == "KafkaTopic"}
        self.assertEqual(set(topics), ours | {f"{t}.dlq" for t in ours})
        self.assertEqual(topics["pasokh.petition.lifecycle.v1"]["partitions"], 12)

    def test_our_services_get_least_privilege_kafka_users_in_strimzis_namespace(self):
        users = {
            d["metadata"]["name"]: d
            for d in self.docs["production"]
            if d["kind"] == "KafkaUser" and not d["metadata"]["name"].startswith("agency-")
        }
        self.assertEqual(
            set(users), {f"pasokh-{s}" for s in ("intake", "routing", "notification", "reporting", "dlq-replay")}
        )
        for user in users.values():
            self.assertEqual(user["metadata"]["namespace"], "kafka", "where Strimzi's user operator watches")
        def grants(name):
            return {
                (acl["resource"]["type"], acl["resource"]["name"], op)
                for acl in users[name]["spec"]["authorization"]["acls"]
                for op in acl["operations"]
            }
        lifecycle = "pasokh.petition.lifecycle.v1"
        self.assertEqual(grants("pasokh-intake"), {("topic", lifecycle, "Write"), ("topic", lifecycle, "Describe")})
        self.assertIn(("group", "pasokh-routing", "Read"), grants("pasokh-routing"))
        self.assertNotIn(("topic", "pasokh.notification.delivery.v1", "Write"), grants("pasokh-routing"))
        self.assertIn(("topic", "pasokh.notification.delivery.v1", "Write"), grants("pasokh-notification"))

    def test_production_talks_tls_to_kafka_with_each_services_own_certificate(self):
        docs = by_key(self.docs["production"])
        for component in ("intake-ir-23", "routing", "notification", "reporting"):
            name = f"pasokh-{component}"
            config = json.loads(docs[("ConfigMap", name)]["data"]["config.json"])
            properties = config["kafka"]["properties"]
            self.assertEqual(properties["security.protocol"], "ssl")
            spec = docs[("Deployment", name)]["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in spec["volumes"]}
            service = component.split("-")[0]
            self.assertEqual(volumes["kafka-client"]["secret"]["secretName"], f"pasokh-{service}")
            mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
            self.assertIn("/etc/pasokh/kafka/client", mounts)
            self.assertTrue(properties["ssl.key.location"].startswith("/etc/pasokh/kafka/client/"))
            pools = yaml.safe_load((CHART / "values-production.yaml").read_text())["database"]["maxConnections"]
            self.assertEqual(config["database"]["max_connections"], pools[service])
        self.assertNotIn("kafka-client", str(self.docs["default"]), "no TLS unless asked for")

    def test_every_rendered_config_is_accepted_by_its_service(self):
        """The services refuse unknown settings: each ConfigMap is loaded by the real binary."""
        for overlay in ("production", "all-features"):
            for doc in (d for d in self.docs[overlay] if d["kind"] == "ConfigMap"):
                component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
                with self.subTest(overlay=overlay, config=doc["metadata"]["name"]), tempfile.TemporaryDirectory() as dir:
                    for file, text in doc["data"].items():
                        Path(dir, file).write_text(text)
                    result = subprocess.run(
                        [str(BIN / f"pasokh-{component}"), "print-config", "--config", str(Path(dir, "config.json"))],
                        capture_output=True,
                        text=True,
                    )
                    self.assertEqual(result.returncode, 0, result.stderr)
                    printed = json.loads(result.stdout)
                    self.assertEqual(printed["listen"]["http_port"], 8080)
                    if component == "routing" and overlay == "all-features":
                        self.assertEqual(printed["rules_file"], "/etc/pasokh/config/routing-rules.toml")


class Schema(unittest.TestCase):
    def assert_refused(self, value, *fragments):
        result = helm_template(sets=[value])
        self.assertNotEqual(result.returncode, 0, f"{value} should fail")
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_a_typo_in_values_fails_the_schema(self):
        self.assert_refused("intake.defaults.replicaz=3", "additional properties 'replicaz' not allowed")
        self.assert_refused("intake.provinces.IR-23.autoscaling.maxReplica=3", "/intake/provinces/IR-23")
        self.assert_refused("routing.config.watchdog.interval=5", "additional properties 'interval' not allowed")
        self.assert_refused("serviceMonitr.enabled=true", "additional properties 'serviceMonitr' not allowed")

    def test_an_unknown_province_or_an_unsafe_security_context_fails(self):
        self.assert_refused("intake.provinces.IR-99.replicas=1", "additional properties 'IR-99' not allowed")
        self.assert_refused("pod.securityContext.runAsNonRoot=false", "/pod/securityContext/runAsNonRoot")
        self.assert_refused("pod.containerSecurityContext.readOnlyRootFilesystem=false", "readOnlyRootFilesystem")

    def test_a_valid_override_is_accepted(self):
        result = helm_template(sets=["intake.provinces.IR-25.replicas=3"])
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
