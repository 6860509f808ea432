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
from urllib.parse import urlsplit

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


def configs(docs):
    """(ConfigMap name, component, parsed config.json) of every service."""
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "config.json" in doc["data"]:
            yield doc["metadata"]["name"], doc["metadata"]["labels"]["app.kubernetes.io/component"], json.loads(
                doc["data"]["config.json"]
            )


def values_of(*files):
    """The chart's values with the overlays merged over them, as helm merges maps."""
    def merge(base, over):
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for file in files:
        merge(values, yaml.safe_load((CHART / file).read_text()) or {})
    return values


def selects(selector, labels):
    """Whether a NetworkPolicy label selector (matchLabels only, as the chart renders) matches labels."""
    return set(selector) == {"matchLabels"} and selector["matchLabels"].items() <= labels.items()


def pod_templates(docs):
    """(kind/name, pod labels) of everything that runs pods."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["metadata"]["labels"]
        elif doc["kind"] == "Pod":
            yield f"Pod/{doc['metadata']['name']}", doc["metadata"]["labels"]


# who calls whose internal gRPC listener (IntakeInternal, CaseLookup)
INTERNAL_CALLERS = {"intake": {"notification", "routing"}, "routing": {"intake", "notification"}}
# components whose settings have `environment` and `auth` (reporting has neither)
AUTHENTICATED = ("intake", "routing", "notification")
# what must never be rendered again: the shared HS256 key, its switches, the built-in development keys
SYMMETRIC_KEY_MARKERS = (
    "PASOKH__AUTH__KEYS",
    "PASOKH__AUTH__ALLOW_DEV_KEY",
    "PASOKH__AUTH__DEV_TOKENS",
    "PASOKH__OPEN311__API_KEYS",
    "PASOKH__OPEN311__ALLOW_DEV_KEY",
    "PASOKH__DEV_CITIZEN_REF_KEY",
    "pasokh-auth",
    "pasokh-open311",
    "HS256",
    "dev-only-jwt-key",
    "dev-open311-key",
    "dev-only-citizen-ref-key",
)


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
        cls.values = {name: values_of(*files) for name, files in OVERLAYS.items()}

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
        config = json.loads(after[("ConfigMap", tehran)]["data"]["config.json"])
        limits = config["limits"]
        self.assertEqual((limits["province_per_second"], limits["per_ip_per_minute"]), (1500, 600))
        # the call centre may file more for Tehran; who may file does not change
        before_config = json.loads(before[("ConfigMap", tehran)]["data"]["config.json"])
        self.assertEqual(config["partners"]["per_minute"], 1800)
        self.assertEqual(config["partners"]["clients"], before_config["partners"]["clients"])
        self.assertNotEqual(before_config["partners"]["per_minute"], 1800)

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
                        if "KEY" in key or "SECRET" in key or "URL" in key:
                            self.assertIn("secretKeyRef", entry.get("valueFrom", {}), f"{name}: {key} comes from a Secret")

    def test_each_services_client_secret_comes_from_its_secret_key_ref(self):
        for overlay, docs in self.docs.items():
            values = self.values[overlay]
            for doc in (d for d in docs if d["kind"] == "Deployment"):
                component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
                with self.subTest(overlay=overlay, deployment=doc["metadata"]["name"]):
                    env = env_of(doc["spec"]["template"]["spec"]["containers"][0])
                    if component not in AUTHENTICATED:
                        self.assertNotIn("PASOKH__AUTH__CLIENT__SECRET", env)
                        continue
                    client = values[component]["auth"]["client"]
                    self.assertEqual(
                        env["PASOKH__AUTH__CLIENT__SECRET"],
                        {
                            "name": "PASOKH__AUTH__CLIENT__SECRET",
                            "valueFrom": {"secretKeyRef": {"name": client["existingSecret"], "key": client["secretKey"]}},
                        },
                    )
                    config = json.loads(by_key(docs)[("ConfigMap", doc["metadata"]["name"])]["data"]["config.json"])
                    self.assertEqual(config["auth"]["client"]["id"], client["id"])
                    self.assertNotIn("secret", config["auth"]["client"], "the secret is never in the ConfigMap")
            # migrations and the helm-test pod hold no client secret
            for name, spec in pod_specs(docs):
                if not name.startswith("Deployment/"):
                    self.assertNotIn("PASOKH__AUTH__CLIENT__SECRET", env_of(spec["containers"][0]), name)
        docs = by_key(render(sets=["routing.auth.client.existingSecret=routing-sso", "routing.auth.client.secretKey=s"]))
        container = docs[("Deployment", "pasokh-routing")]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(
            env_of(container)["PASOKH__AUTH__CLIENT__SECRET"]["valueFrom"]["secretKeyRef"], {"name": "routing-sso", "key": "s"}
        )

    def test_no_rendered_object_mounts_or_references_a_symmetric_auth_key(self):
        for overlay, docs in self.docs.items():
            text = yaml.safe_dump_all(docs)
            for marker in SYMMETRIC_KEY_MARKERS:
                self.assertNotIn(marker, text, f"{overlay}: {marker}")
            for name, spec in pod_specs(docs):
                with self.subTest(overlay=overlay, workload=name):
                    # the only Secrets mounted as files are Kafka's certificates
                    mounted = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
                    allowed = {"pasokh-kafka-cluster-ca-cert"} | {f"pasokh-{c}" for c in ("intake", "routing", "notification", "reporting")}
                    self.assertLessEqual(mounted, allowed)
                    for container in spec["containers"]:
                        self.assertFalse(container.get("envFrom"), "no Secret is poured into the environment whole")
                        for entry in container.get("env", []):
                            ref = entry.get("valueFrom", {}).get("secretKeyRef")
                            if ref:
                                self.assertIn(
                                    entry["name"],
                                    {"PASOKH__DATABASE__URL", "PASOKH__CITIZEN_REF_KEY", "PASOKH__AUTH__CLIENT__SECRET"},
                                )
            for name, component, config in configs(docs):
                if component in AUTHENTICATED:
                    auth = config["auth"]
                    self.assertFalse({"keys", "allow_dev_key"} & set(auth), name)
                    self.assertEqual(auth["dev_tokens"], {"enabled": False}, f"{name}: no development key configured")
                if component == "intake":
                    self.assertNotIn("api_keys", config["open311"], name)

    def test_every_service_config_is_production_with_the_provider_from_values(self):
        for overlay, docs in self.docs.items():
            values = self.values[overlay]
            seen = set()
            for name, component, config in configs(docs):
                seen.add(component)
                with self.subTest(overlay=overlay, config=name):
                    if component not in AUTHENTICATED:
                        # reporting checks no tokens and refuses settings it does not have
                        self.assertFalse({"environment", "auth"} & set(config))
                        continue
                    self.assertEqual(config["environment"], "production")
                    auth = config["auth"]
                    self.assertTrue(auth["issuer"], "an empty issuer accepts nothing")
                    self.assertEqual(auth["issuer"], values["auth"]["issuer"])
                    self.assertEqual(auth["jwks_url"], values["auth"]["jwksUrl"])
                    self.assertEqual(auth["max_lifetime_secs"], values["auth"]["maxLifetimeSecs"])
                    self.assertEqual(auth["audience"], values[component]["auth"]["audience"])
                    self.assertIs(auth["dev_tokens"]["enabled"], False)
                    if component == "intake":
                        self.assertIs(config["dev_citizen_ref_key"], False)
                        self.assertIs(config["open311"]["allow_dev_key"], False)
                        self.assertEqual(config["open311"]["api_key_sha256"], values["intake"]["open311"]["apiKeySha256"])
                        self.assertEqual(sorted(config["internal_clients"]), sorted(values["intake"]["internalClients"]))
                        self.assertIn("per_minute", config["partners"])
                    if component == "routing":
                        self.assertEqual(sorted(config["internal_clients"]), sorted(values["routing"]["internalClients"]))
            self.assertEqual(seen, {"intake", "routing", "notification", "reporting"}, overlay)
        # production: https only, and the audiences the services are known by
        for name, component, config in configs(self.docs["production"]):
            if component in AUTHENTICATED:
                self.assertTrue(config["auth"]["issuer"].startswith("https://"), name)
                self.assertEqual(config["auth"]["audience"], f"pasokh-{component}")
        hashes = json.loads(by_key(self.docs["all-features"])[("ConfigMap", "pasokh-intake-ir-23")]["data"]["config.json"])
        self.assertEqual(set(hashes["open311"]["api_key_sha256"]), {"callcentre"})
        self.assertEqual(hashes["partners"], {"clients": ["partner-call-centre"], "per_minute": 120})

    def test_identity_values_reach_every_service(self):
        docs = render(
            sets=[
                "auth.issuer=https://idp.example/realms/x",
                "auth.jwksUrl=https://idp.example/keys",
                "auth.maxLifetimeSecs=600",
                "notification.auth.audience=notify",
                "intake.defaults.partners.clients={partner-a,partner-b}",
            ]
        )
        for name, component, config in configs(docs):
            if component in AUTHENTICATED:
                self.assertEqual(config["auth"]["issuer"], "https://idp.example/realms/x", name)
                self.assertEqual(config["auth"]["jwks_url"], "https://idp.example/keys", name)
                self.assertEqual(config["auth"]["max_lifetime_secs"], 600, name)
            if component == "notification":
                self.assertEqual(config["auth"]["audience"], "notify")
            if component == "intake":
                self.assertEqual(config["partners"]["clients"], ["partner-a", "partner-b"])

    def test_callers_ask_for_the_audience_their_callee_accepts(self):
        docs = render(sets=["intake.auth.audience=intake-api", "routing.auth.audience=routing-api"])
        for name, component, config in configs(docs):
            if component == "intake":
                self.assertEqual((config["auth"]["audience"], config["routing_audience"]), ("intake-api", "routing-api"), name)
            if component == "routing":
                self.assertEqual((config["auth"]["audience"], config["intake_audience"]), ("routing-api", "intake-api"))
            if component == "notification":
                self.assertEqual((config["intake_audience"], config["routing_audience"]), ("intake-api", "routing-api"))

    def test_internal_urls_point_at_the_callees_internal_ports(self):
        for overlay, docs in self.docs.items():
            keyed = by_key(docs)
            own = {component: config for _, component, config in configs(docs)}
            internal_ports = {c: own[c]["listen"]["internal_grpc_port"] for c in INTERNAL_CALLERS}
            urls = {
                ("intake", "routing"): own["intake"]["routing_grpc_url"],
                ("routing", "intake"): own["routing"]["intake_grpc_url"],
                ("notification", "intake"): own["notification"]["intake_grpc_url"],
                ("notification", "routing"): own["notification"]["routing_grpc_url"],
            }
            for (caller, callee), url in urls.items():
                with self.subTest(overlay=overlay, caller=caller, callee=callee):
                    self.assertIn(caller, INTERNAL_CALLERS[callee])
                    parts = urlsplit(url)
                    self.assertEqual(parts.port, internal_ports[callee])
                    self.assertNotEqual(parts.port, own[callee]["listen"]["grpc_port"], "not the partners' port")
                    service = keyed[("Service", parts.hostname)]
                    port = next(p for p in service["spec"]["ports"] if p["port"] == parts.port)
                    self.assertEqual((port["name"], port["targetPort"]), ("grpc-internal", "grpc-internal"))
                    self.assertEqual(service["spec"]["selector"]["app.kubernetes.io/component"], callee)
                    # the named port on the callee's pods is the port its config listens on
                    for doc in docs:
                        if doc["kind"] == "Deployment" and selects({"matchLabels": service["spec"]["selector"]}, doc["spec"]["template"]["metadata"]["labels"]):
                            ports = {p["name"]: p["containerPort"] for p in doc["spec"]["template"]["spec"]["containers"][0]["ports"]}
                            self.assertEqual(ports["grpc-internal"], internal_ports[callee])
                            self.assertNotEqual(ports["grpc"], internal_ports[callee])
            # every intake and routing Service offers both gRPC ports, separately; the others no internal one
            for (kind, name), doc in keyed.items():
                if kind != "Service":
                    continue
                names = {p["name"] for p in doc["spec"]["ports"]}
                component = doc["spec"]["selector"]["app.kubernetes.io/component"]
                if name == "pasokh-intake-internal":
                    self.assertEqual(names, {"grpc-internal"})
                elif component in INTERNAL_CALLERS:
                    self.assertEqual(names, {"http", "grpc", "grpc-internal"}, name)
                else:
                    self.assertEqual(names, {"http", "grpc"}, name)

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
        optional = {"ServiceMonitor", "PrometheusRule", "Ingress", "KafkaTopic", "KafkaUser"}
        self.assertFalse(optional & {d["kind"] for d in self.docs["default"]})
        self.assertIn("NetworkPolicy", {d["kind"] for d in self.docs["default"]}, "NetworkPolicies are on by default")
        self.assertLessEqual(optional, {d["kind"] for d in self.docs["all-features"]})
        rules = next(d for d in self.docs["production"] if d["kind"] == "PrometheusRule")
        alerts = {r["alert"] for r in rules["spec"]["groups"][0]["rules"]}
        self.assertEqual(alerts, {"PasokhSlaBreachRate", "PasokhConsumerLag", "PasokhOutboxBacklog", "PasokhHttp5xxRate"})

    def policies(self, overlay):
        return {
            d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: d
            for d in self.docs[overlay]
            if d["kind"] == "NetworkPolicy"
        }

    def test_network_policies_are_on_in_every_overlay_and_cover_every_component(self):
        for overlay, docs in self.docs.items():
            policies = self.policies(overlay)
            self.assertEqual(set(policies), {"intake", "routing", "notification", "reporting"}, overlay)
            for component, policy in policies.items():
                self.assertEqual(policy["spec"]["policyTypes"], ["Ingress"])
                self.assertEqual(
                    policy["spec"]["podSelector"]["matchLabels"],
                    {"app.kubernetes.io/name": "pasokh", "app.kubernetes.io/instance": "pasokh", "app.kubernetes.io/component": component},
                )
                for rule in policy["spec"]["ingress"]:
                    self.assertTrue(rule.get("ports"), f"{overlay}/{component}: a rule without ports opens every port")

    def test_the_internal_grpc_port_admits_only_the_components_that_call_it(self):
        for overlay, docs in self.docs.items():
            pods = dict(pod_templates(docs))
            for callee, callers in INTERNAL_CALLERS.items():
                with self.subTest(overlay=overlay, callee=callee):
                    policy = self.policies(overlay)[callee]
                    internal = [r for r in policy["spec"]["ingress"] if any(p["port"] == "grpc-internal" for p in r["ports"])]
                    self.assertEqual(len(internal), 1, "one rule for the internal port")
                    rule = internal[0]
                    self.assertEqual([p["port"] for p in rule["ports"]], ["grpc-internal"], "that rule opens nothing else")
                    peers = rule["from"]
                    for peer in peers:
                        # same namespace, by all three labels: never a namespace, an address range or the release alone
                        self.assertEqual(set(peer), {"podSelector"})
                        self.assertEqual(
                            set(peer["podSelector"]["matchLabels"]),
                            {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"},
                        )
                    self.assertEqual({p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in peers}, callers)
                    # which rendered pods get in: the callers' Deployments, not the helm-test pod, not the migration Jobs
                    admitted = {name for name, labels in pods.items() if any(selects(p["podSelector"], labels) for p in peers)}
                    expected = {
                        name for name, labels in pods.items()
                        if name.startswith("Deployment/") and labels["app.kubernetes.io/component"] in callers
                    }
                    self.assertEqual(admitted, expected)
                    self.assertTrue(expected)
                    self.assertFalse({n for n in admitted if not n.startswith("Deployment/")})
            # components without an internal listener have no internal port to open
            for component in ("notification", "reporting"):
                for rule in self.policies(overlay)[component]["spec"]["ingress"]:
                    self.assertNotIn("grpc-internal", [p["port"] for p in rule["ports"]])

    def test_partner_and_officer_grpc_and_http_stay_reachable_as_configured(self):
        def rules(policy, port):
            return [r for r in policy["spec"]["ingress"] if port in [p["port"] for p in r["ports"]]]
        for overlay in ("default", "production"):
            policies = self.policies(overlay)
            for component in ("intake", "routing"):
                grpc = rules(policies[component], "grpc")
                self.assertEqual(len(grpc), 1)
                self.assertNotIn("from", grpc[0], "partners and officers reach it; their tokens are checked")
                self.assertEqual([p["port"] for p in grpc[0]["ports"]], ["grpc"])
        features = self.policies("all-features")
        self.assertEqual(
            rules(features["intake"], "grpc")[0]["from"],
            [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "call-centre"}}}],
        )
        self.assertEqual(rules(features["routing"], "grpc")[0]["from"], [{"ipBlock": {"cidr": "10.20.0.0/16"}}])
        policies = self.policies("production")
        sources = [r["from"][0] for r in rules(policies["intake"], "http")]
        self.assertIn({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}, sources)
        self.assertIn({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}, sources)
        self.assertEqual(len(rules(policies["routing"], "http")), 1, "routing's HTTP (metrics) only from monitoring")
        # the helm-test pod reaches intake's /readyz, and only that port
        test_rules = [
            r for r in policies["intake"]["spec"]["ingress"]
            if r.get("from", [{}])[0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "test"
        ]
        self.assertEqual([[p["port"] for p in r["ports"]] for r in test_rules], [["http"]])
        # notification's and reporting's gRPC (no partners, no officers): Pasokh's own pods only
        for component in ("notification", "reporting"):
            grpc = rules(policies[component], "grpc")
            self.assertEqual(len(grpc), 1)
            self.assertEqual(grpc[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "pasokh")

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
        """The services refuse unknown settings: each ConfigMap is loaded by the real binary, which
        also says which development credentials the settings turn on: none, ever."""
        # only what the chart renders: nothing from the shell running the tests
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PASOKH_")}
        for overlay in OVERLAYS:
            values = self.values[overlay]
            for doc in (d for d in self.docs[overlay] if d["kind"] == "ConfigMap"):
                component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
                with self.subTest(overlay=overlay, config=doc["metadata"]["name"]), tempfile.TemporaryDirectory() as dir:
                    for file, text in doc["data"].items():
                        Path(dir, file).write_text(text)
                    result = subprocess.run(
                        [str(BIN / f"pasokh-{component}"), "print-config", "--config", str(Path(dir, "config.json"))],
                        capture_output=True,
                        text=True,
                        env=clean_env,
                    )
                    self.assertEqual(result.returncode, 0, result.stderr)
                    printed = json.loads(result.stdout)
                    self.assertEqual(printed["listen"]["http_port"], 8080)
                    self.assertEqual(printed["active_development_credentials"], [])
                    if component == "routing" and overlay == "all-features":
                        self.assertEqual(printed["rules_file"], "/etc/pasokh/config/routing-rules.toml")
                    if component not in AUTHENTICATED:
                        continue
                    # what the service will run with, defaults included
                    self.assertEqual(printed["environment"], "production")
                    auth = printed["auth"]
                    self.assertEqual(auth["issuer"], values["auth"]["issuer"])
                    self.assertEqual(auth["max_lifetime_secs"], values["auth"]["maxLifetimeSecs"])
                    self.assertIs(auth["dev_tokens"]["enabled"], False)
                    self.assertEqual(auth["client"]["id"], values[component]["auth"]["client"]["id"])
                    self.assertEqual(auth["client"]["secret"], "[redacted]")
                    if component in INTERNAL_CALLERS:
                        self.assertEqual(sorted(printed["internal_clients"]), sorted(values[component]["internalClients"]))
                        self.assertNotIn(printed["listen"]["internal_grpc_port"], (0, printed["listen"]["grpc_port"]))
                    if component == "intake":
                        self.assertIs(printed["dev_citizen_ref_key"], False)
                        self.assertIs(printed["open311"]["allow_dev_key"], False)
                        self.assertEqual(printed["open311"]["api_key_sha256"], values["intake"]["open311"]["apiKeySha256"])


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

    def test_the_old_symmetric_key_settings_and_development_switches_are_refused(self):
        self.assert_refused("secrets.auth.name=pasokh-auth", "additional properties 'auth' not allowed")
        self.assert_refused("secrets.open311.name=pasokh-open311", "additional properties 'open311' not allowed")
        self.assert_refused("auth.allowDevKey=true", "additional properties 'allowDevKey' not allowed")
        self.assert_refused("auth.devTokens.enabled=true", "additional properties 'devTokens' not allowed")
        self.assert_refused("intake.open311.allowDevKey=true", "additional properties 'allowDevKey' not allowed")
        self.assert_refused("routing.config.environment=development", "additional properties 'environment' not allowed")
        self.assert_refused("routing.config.auth.issuer=x", "additional properties 'auth' not allowed")
        self.assert_refused("notification.config.environment=development", "additional properties 'environment' not allowed")

    def test_identity_values_are_checked(self):
        self.assert_refused("auth.issuer=", "/auth/issuer")
        self.assert_refused("auth.issuer=sso.example", "/auth/issuer")
        self.assert_refused("auth.maxLifetimeSecs=604800", "/auth/maxLifetimeSecs")
        # a key, not its hash
        self.assert_refused("intake.open311.apiKeySha256.callcentre=k-123", "/intake/open311/apiKeySha256/callcentre")
        self.assert_refused("intake.auth.client.existingSecret=", "/intake/auth/client/existingSecret")
        self.assert_refused("networkPolicy.grpcFrom.intake[0].podSelektor.x=y", "additional properties 'podSelektor' not allowed")

    def test_an_allow_list_without_a_caller_the_chart_deploys_fails_the_render(self):
        self.assert_refused("intake.internalClients={pasokh-notification}", "intake.internalClients must list routing's client id")
        self.assert_refused("routing.auth.client.id=routing-2", "intake.internalClients must list routing's client id \"routing-2\"")
        result = helm_template(
            sets=[
                "notification.auth.client.id=notify",
                "intake.internalClients={notify,pasokh-routing}",
                "routing.internalClients={pasokh-intake,notify}",
            ]
        )
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
