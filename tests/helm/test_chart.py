"""The Helm chart, rendered with the real `helm` and read back: what each overlay
claims is what it renders. Run by scripts/helm-check.sh (make helm-check, part
of make test) with HELM and PASOKH_BIN set; needs PyYAML (installed with
kubernetes-validate into the project's venv)."""
import copy
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
# components whose settings have `environment` and `auth` (reporting has neither; the web has
# `environment` and, as a sign-in client rather than a token checker, `oidc`)
AUTHENTICATED = ("intake", "routing", "notification", "reporting")
# the web's two listeners: the citizen's site and the desk console, each with the ops endpoints
WEB_PORTS = {"public": 8086, "staff": 8087}
# what a NetworkPolicy peer must never be for the desk console: every address
EVERYWHERE = ({"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}})
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

    def test_the_friday_prayer_overlay_changes_tehrans_intake_and_the_webs_replica_range_only(self):
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
                # the web gains replicas; its Deployment and ConfigMap are the same, so its pods do not roll
                ("HorizontalPodAutoscaler", "pasokh-web"),
                ("PodDisruptionBudget", "pasokh-web"),
            },
        )
        web = after[("HorizontalPodAutoscaler", "pasokh-web")]["spec"]
        self.assertEqual((web["minReplicas"], web["maxReplicas"]), (4, 12))
        self.assertGreater(web["minReplicas"], before[("HorizontalPodAutoscaler", "pasokh-web")]["spec"]["minReplicas"])
        self.assertLess(after[("PodDisruptionBudget", "pasokh-web")]["spec"]["minAvailable"], web["minReplicas"])
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
                    # reporting checks tokens but calls no other service: it has no client, so no secret
                    if component not in AUTHENTICATED or not values[component]["auth"]["client"]["id"]:
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
                                    {
                                        "PASOKH__DATABASE__URL",
                                        "PASOKH__CITIZEN_REF_KEY",
                                        "PASOKH__AUTH__CLIENT__SECRET",
                                        "PASOKH__OIDC__CLIENT_SECRET",
                                    },
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
                    if component == "web":
                        # a sign-in client of the same provider: no token checks of its own, no development switch
                        self.assertEqual(config["environment"], "production")
                        self.assertNotIn("auth", config)
                        self.assertEqual(config["oidc"]["issuer"], values["auth"]["issuer"])
                        continue
                    if component not in AUTHENTICATED:
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
            self.assertEqual(seen, {"intake", "routing", "notification", "reporting", "web"}, overlay)
        # production: https only, and the audiences the services are known by
        for name, component, config in configs(self.docs["production"]):
            if component in AUTHENTICATED:
                self.assertTrue(config["auth"]["issuer"].startswith("https://"), name)
                self.assertEqual(config["auth"]["audience"], f"pasokh-{component}")
            if component == "web":
                self.assertTrue(config["oidc"]["issuer"].startswith("https://"), name)
                self.assertTrue(config["oidc"]["staff_base_url"].startswith("https://"), name)
        hashes = json.loads(by_key(self.docs["all-features"])[("ConfigMap", "pasokh-intake-ir-23")]["data"]["config.json"])
        self.assertEqual(set(hashes["open311"]["api_key_sha256"]), {"callcentre"})
        self.assertEqual(hashes["partners"], {"clients": ["partner-call-centre"], "per_minute": 120})

    def test_component_defaults_fill_what_a_component_leaves_out_and_its_false_or_zero_stands(self):
        docs = by_key(
            render(
                sets=[
                    "componentDefaults.replicas=3",
                    "componentDefaults.resources.limits.memory=300Mi",
                    "componentDefaults.database.maxConnections=7",
                    "reporting.autoscaling.enabled=true",
                    "web.autoscaling.enabled=false",
                    "notification.pdb.minAvailable=0",
                    "routing.database.secretKey=routing-pool-url",
                ]
            )
        )
        notification = docs[("Deployment", "pasokh-notification")]
        self.assertEqual(notification["spec"]["replicas"], 3, "replicas from componentDefaults")
        limits = notification["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        self.assertEqual(limits, {"cpu": "500m", "memory": "300Mi"})
        self.assertEqual(docs[("PodDisruptionBudget", "pasokh-notification")]["spec"]["minAvailable"], 0, "a 0 stands")
        # routing sets its own resources and pool: the defaults' do not replace them
        routing = docs[("Deployment", "pasokh-routing")]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(routing["resources"]["limits"], {"cpu": "1", "memory": "512Mi"})
        self.assertEqual(
            env_of(routing)["PASOKH__DATABASE__URL"]["valueFrom"]["secretKeyRef"],
            {"name": "pasokh-database", "key": "routing-pool-url"},
        )
        pools = {n: c["database"]["max_connections"] for n, _, c in configs(list(docs.values()))}
        self.assertEqual(pools["pasokh-routing"], 10)
        self.assertEqual(pools["pasokh-reporting"], 7, "the pool from componentDefaults")
        # reporting only switched autoscaling on: the bounds are componentDefaults'
        hpa = docs[("HorizontalPodAutoscaler", "pasokh-reporting")]["spec"]
        self.assertEqual((hpa["minReplicas"], hpa["maxReplicas"]), (2, 4))
        self.assertNotIn(("HorizontalPodAutoscaler", "pasokh-web"), docs, "a false stands over the web's true")
        self.assertEqual(docs[("Deployment", "pasokh-web")]["spec"]["replicas"], 3)
        jobs = [d for (kind, _), d in docs.items() if kind == "Job" and "routing" in d["metadata"]["name"]]
        self.assertTrue(jobs, "routing's migration Job")
        job_env = env_of(jobs[0]["spec"]["template"]["spec"]["containers"][0])
        self.assertEqual(job_env["PASOKH__DATABASE__URL"]["valueFrom"]["secretKeyRef"]["key"], "routing-pool-url")

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
            if component == "web":
                self.assertEqual(config["oidc"]["issuer"], "https://idp.example/realms/x", name)
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
                elif component == "web":
                    # one listener per Service: the public site's and the desk console's
                    self.assertEqual(names, {name.removeprefix("pasokh-web-")}, name)
                elif component in INTERNAL_CALLERS:
                    self.assertEqual(names, {"http", "grpc", "grpc-internal"}, name)
                else:
                    self.assertEqual(names, {"http", "grpc"}, name)

    def test_migrations_run_before_install_and_upgrade_one_job_per_database(self):
        jobs = [d for d in self.docs["default"] if d["kind"] == "Job"]
        self.assertEqual(
            sorted(j["metadata"]["name"] for j in jobs),
            sorted(f"pasokh-{c}-migrate" for c in ("intake", "routing", "notification", "reporting", "web")),
        )
        for job in jobs:
            self.assertEqual(job["metadata"]["annotations"]["helm.sh/hook"], "pre-install,pre-upgrade")
            container = job["spec"]["template"]["spec"]["containers"][0]
            self.assertEqual(container["args"], ["migrate"])
        web = by_key(jobs)[("Job", "pasokh-web-migrate")]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(web["command"], ["/usr/local/bin/pasokh-web"])
        self.assertEqual(
            env_of(web)["PASOKH__DATABASE__URL"]["valueFrom"]["secretKeyRef"], {"name": "pasokh-database", "key": "web-url"}
        )

    def test_helm_test_checks_every_intakes_readyz(self):
        for overlay in ("dev", "production"):
            pods = [d for d in self.docs[overlay] if d["kind"] == "Pod"]
            self.assertEqual(len(pods), 1)
            self.assertEqual(pods[0]["metadata"]["annotations"]["helm.sh/hook"], "test")
            script = pods[0]["spec"]["containers"][0]["args"][0]
            for province in self.intakes(overlay):
                self.assertIn(f"http://pasokh-intake-{province.lower()}:8080/readyz", script)

    def test_ingress_sends_each_province_to_its_own_intake(self):
        host_mode = by_key(self.docs["production"])[("Ingress", "pasokh-intake")]
        routes = {r["host"]: r["http"]["paths"][0]["backend"]["service"]["name"] for r in host_mode["spec"]["rules"]}
        self.assertEqual(len(routes), 31)
        self.assertEqual(routes["ir-23.pasokh.mcls.gov.ir"], "pasokh-intake-ir-23")
        path_mode = by_key(self.docs["all-features"])[("Ingress", "pasokh-intake")]
        paths = {p["path"]: p["backend"]["service"]["name"] for p in path_mode["spec"]["rules"][0]["http"]["paths"]}
        self.assertEqual(paths["/ir-25(/|$)(.*)"], "pasokh-intake-ir-25")
        self.assertEqual(path_mode["spec"]["tls"][0]["secretName"], "pasokh-tls")

    def web(self, overlay):
        docs = by_key(self.docs[overlay])
        deployment = docs[("Deployment", "pasokh-web")]
        config = json.loads(docs[("ConfigMap", "pasokh-web")]["data"]["config.json"])
        return docs, deployment, deployment["spec"]["template"]["spec"]["containers"][0], config

    def test_the_web_serves_the_public_site_and_the_desk_console_on_two_ports_and_services(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                docs, deployment, container, config = self.web(overlay)
                self.assertEqual(container["command"], ["/usr/local/bin/pasokh-web"])
                self.assertEqual(container["args"], ["serve", "--config", "/etc/pasokh/config/config.json"])
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                self.assertEqual(ports, WEB_PORTS)
                # the ports the pod declares are the ports the service listens on
                listen = config["listen"]
                self.assertEqual((listen["public_port"], listen["staff_port"]), (ports["public"], ports["staff"]))
                self.assertEqual(listen["host"], "0.0.0.0")
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    self.assertEqual(container[probe]["httpGet"]["port"], "public", probe)
                self.assertEqual(config["shutdown_drain_secs"], self.values[overlay]["pod"]["drainSeconds"])
                values = self.values[overlay]
                pool = values["web"].get("database", {}).get("maxConnections", values["componentDefaults"]["database"]["maxConnections"])
                self.assertEqual(config["database"]["max_connections"], pool)
                self.assertEqual(
                    env_of(container)["PASOKH__DATABASE__URL"]["valueFrom"]["secretKeyRef"],
                    {"name": "pasokh-database", "key": "web-url"},
                )
                pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
                for listener, port in WEB_PORTS.items():
                    service = docs[("Service", f"pasokh-web-{listener}")]
                    self.assertTrue(selects({"matchLabels": service["spec"]["selector"]}, pod_labels))
                    self.assertEqual(
                        [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]], [(listener, port, listener)]
                    )
                web = self.values[overlay]["web"]
                self.assertIn(("PodDisruptionBudget", "pasokh-web"), docs)
                self.assertEqual(("HorizontalPodAutoscaler", "pasokh-web") in docs, web["autoscaling"]["enabled"])
                if web["autoscaling"]["enabled"]:
                    self.assertNotIn("replicas", deployment["spec"], "the HPA owns the replica count")
                else:
                    self.assertEqual(deployment["spec"]["replicas"], web["replicas"])
                session = config["session"]
                self.assertEqual((session["idle_minutes"], session["absolute_hours"]), (web["session"]["idleMinutes"], web["session"]["absoluteHours"]))
        staff = by_key(self.docs["default"])[("Service", "pasokh-web-staff")]["spec"]
        self.assertEqual(staff["type"], "ClusterIP", "nothing outside the cluster reaches the console by default")
        # an internal load balancer only with the ministry's ranges, keeping client addresses for the NetworkPolicy
        staff = by_key(self.docs["all-features"])[("Service", "pasokh-web-staff")]
        self.assertEqual(staff["spec"]["type"], "LoadBalancer")
        self.assertEqual(staff["spec"]["loadBalancerSourceRanges"], self.values["all-features"]["web"]["staffAccess"]["cidrs"])
        self.assertEqual(staff["spec"]["externalTrafficPolicy"], "Local")
        self.assertEqual(staff["metadata"]["annotations"], {"networking.gke.io/load-balancer-type": "Internal"})
        result = helm_template(sets=["web.staffAccess.serviceType=LoadBalancer"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("web.staffAccess.serviceType LoadBalancer needs web.staffAccess.cidrs", result.stderr)

    def test_the_web_is_configured_for_the_provider_with_its_client_secret_from_a_secret_key_ref(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                _, _, container, config = self.web(overlay)
                values = self.values[overlay]
                secret = values["web"]["oidc"]["clientSecret"]
                self.assertEqual(
                    env_of(container)["PASOKH__OIDC__CLIENT_SECRET"],
                    {
                        "name": "PASOKH__OIDC__CLIENT_SECRET",
                        "valueFrom": {"secretKeyRef": {"name": secret["name"], "key": secret["key"]}},
                    },
                )
                self.assertNotIn("client_secret", config["oidc"], "the secret is never in the ConfigMap")
                self.assertNotIn("PASOKH__AUTH__CLIENT__SECRET", env_of(container))
                self.assertEqual(
                    config["oidc"],
                    {
                        "issuer": values["auth"]["issuer"],
                        "browser_issuer": values["web"]["oidc"]["browserIssuer"],
                        "client_id": values["web"]["oidc"]["clientId"],
                        "staff_base_url": values["web"]["staffBaseUrl"],
                    },
                )
                self.assertEqual(config["environment"], "production")
                # behind the Ingress, the citizen's address is the right-most forwarded hop
                self.assertIs(config["trust_forwarded_for"], True)
        self.assertEqual(self.web("all-features")[3]["oidc"]["browser_issuer"], "https://login.ci.example/realms/pasokh")
        self.assertEqual(self.web("production")[3]["oidc"]["staff_base_url"], "https://desk.pasokh.mcls.gov.ir")
        # a literal secret has nowhere to go: the schema knows only a Secret's name and key
        result = helm_template(sets=["web.oidc.clientSecret=s3cret"])
        self.assertNotEqual(result.returncode, 0, "a literal client secret is refused")
        result = helm_template(sets=["web.oidc.clientSecret.value=s3cret"])
        self.assertIn("additional properties 'value' not allowed", result.stderr)
        docs = by_key(render(sets=["web.oidc.clientSecret.name=desk-sso", "web.oidc.clientSecret.key=s"]))
        container = docs[("Deployment", "pasokh-web")]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(env_of(container)["PASOKH__OIDC__CLIENT_SECRET"]["valueFrom"]["secretKeyRef"], {"name": "desk-sso", "key": "s"})

    def test_the_web_knows_every_deployed_intake_and_reaches_its_http_port(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                docs, _, _, config = self.web(overlay)
                urls = config["intake"]["urls"]
                self.assertEqual(sorted(urls), sorted(self.intakes(overlay)))
                self.assertEqual(config["intake"]["timeout_ms"], self.values[overlay]["web"]["intake"]["timeoutMs"])
                for province, url in urls.items():
                    parts = urlsplit(url)
                    self.assertEqual((parts.scheme, parts.path), ("http", ""))
                    service = docs[("Service", parts.hostname)]
                    self.assertEqual(service["spec"]["selector"]["pasokh.mcls.gov.ir/province"], province)
                    self.assertEqual(service["spec"]["selector"]["app.kubernetes.io/component"], "intake")
                    port = next(p for p in service["spec"]["ports"] if p["port"] == parts.port)
                    self.assertEqual((port["name"], port["targetPort"]), ("http", "http"))
        self.assertEqual(len(self.web("production")[3]["intake"]["urls"]), 31)
        docs = by_key(render(sets=["intake.provinces.IR-07.replicas=1"]))
        urls = json.loads(docs[("ConfigMap", "pasokh-web")]["data"]["config.json"])["intake"]["urls"]
        self.assertEqual(urls, {"IR-07": "http://pasokh-intake-ir-07:8080", "IR-23": "http://pasokh-intake-ir-23:8080"})

    def test_the_web_reaches_routings_officers_grpc_and_reportings_http_api(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                docs, _, _, config = self.web(overlay)
                for key, component, port_name in (("routing_url", "routing", "grpc"), ("reporting_url", "reporting", "http")):
                    parts = urlsplit(config[key])
                    self.assertEqual((parts.scheme, parts.path), ("http", ""), key)
                    service = docs[("Service", parts.hostname)]
                    self.assertEqual(service["spec"]["selector"]["app.kubernetes.io/component"], component)
                    port = next(p for p in service["spec"]["ports"] if p["port"] == parts.port)
                    self.assertEqual(port["name"], port_name, key)

    def test_the_web_has_notification_text_its_codes_through_notifications_http_port(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                docs, _, _, config = self.web(overlay)
                parts = urlsplit(config["notification_url"])
                self.assertEqual((parts.scheme, parts.path), ("http", ""))
                service = docs[("Service", parts.hostname)]
                self.assertEqual(service["spec"]["selector"]["app.kubernetes.io/component"], "notification")
                port = next(p for p in service["spec"]["ports"] if p["port"] == parts.port)
                self.assertEqual((port["name"], port["targetPort"]), ("http", "http"), "not its gRPC")
                # the named port on notification's pods is the port its config listens on
                notification = json.loads(docs[("ConfigMap", "pasokh-notification")]["data"]["config.json"])
                container = docs[("Deployment", "pasokh-notification")]["spec"]["template"]["spec"]["containers"][0]
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                self.assertEqual(ports["http"], notification["listen"]["http_port"])
                code = self.values[overlay]["web"]["oneTimeCode"]
                self.assertEqual(
                    config["one_time_code"],
                    {
                        "lifetime_secs": code["lifetimeSecs"],
                        "max_attempts": code["maxAttempts"],
                        "per_mobile_per_10_minutes": code["perMobilePer10Minutes"],
                        "per_ip_per_10_minutes": code["perIpPer10Minutes"],
                    },
                )
        self.assertEqual(
            self.web("default")[3]["one_time_code"],
            {"lifetime_secs": 120, "max_attempts": 5, "per_mobile_per_10_minutes": 3, "per_ip_per_10_minutes": 10},
            "the issue's figures: 2 minutes, 5 attempts",
        )
        docs = by_key(render(sets=["web.oneTimeCode.perMobilePer10Minutes=2", "web.oneTimeCode.lifetimeSecs=180"]))
        code = json.loads(docs[("ConfigMap", "pasokh-web")]["data"]["config.json"])["one_time_code"]
        self.assertEqual((code["per_mobile_per_10_minutes"], code["lifetime_secs"], code["max_attempts"]), (2, 180, 5))
        # another release name: another notification Service
        result = subprocess.run(
            [HELM, "template", "desk", str(CHART), "--kube-version", KUBE_VERSION], capture_output=True, text=True
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        other = by_key(d for d in yaml.safe_load_all(result.stdout) if d)
        url = json.loads(other[("ConfigMap", "desk-web")]["data"]["config.json"])["notification_url"]
        self.assertEqual(url, "http://desk-notification:8080")
        self.assertIn(("Service", "desk-notification"), other)

    def test_only_the_webs_client_may_have_codes_texted_or_a_mobiles_petitions_listed(self):
        def allow_lists(docs):
            lists = {}
            for name, component, config in configs(docs):
                if component == "notification":
                    lists[name] = config["one_time_code_clients"]
                if component == "intake":
                    lists[name] = config["citizen_listing_clients"]
            return lists
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                lists = allow_lists(self.docs[overlay])
                self.assertIn("pasokh-notification", lists)
                self.assertEqual(
                    {n for n in lists if n.startswith("pasokh-intake-")}, {f"pasokh-intake-{p.lower()}" for p in self.intakes(overlay)}
                )
                for name, clients in lists.items():
                    self.assertEqual(clients, [self.values[overlay]["web"]["oidc"]["clientId"]], name)
        # the web's client renamed: both lists follow it, and nobody else is on them
        for name, clients in allow_lists(render(sets=["web.oidc.clientId=desk-2"])).items():
            self.assertEqual(clients, ["desk-2"], name)
        # without the web, nobody
        for name, clients in allow_lists(render("values-production.yaml", sets=["web.enabled=false"])).items():
            self.assertEqual(clients, [], name)

    def test_the_public_host_goes_to_the_public_service_and_the_console_is_in_no_ingress(self):
        for overlay in OVERLAYS:
            values = self.values[overlay]
            staff_host = urlsplit(values["web"]["staffBaseUrl"]).hostname
            ingresses = [d for d in self.docs[overlay] if d["kind"] == "Ingress"]
            with self.subTest(overlay=overlay):
                self.assertEqual(bool(ingresses), values["ingress"]["enabled"])
                for ingress in ingresses:
                    for rule in ingress["spec"]["rules"]:
                        self.assertNotEqual(rule["host"], staff_host, "the console's host is never in an Ingress")
                        for path in rule["http"]["paths"]:
                            backend = path["backend"]["service"]
                            self.assertNotEqual(backend["name"], "pasokh-web-staff")
                            self.assertNotEqual(backend["port"].get("name"), "staff")
                            self.assertNotIn(backend["port"].get("number"), (WEB_PORTS["staff"],))
                    for tls in ingress["spec"].get("tls", []):
                        self.assertNotIn(staff_host, tls["hosts"])
        for overlay, host in (("production", "pasokh.mcls.gov.ir"), ("all-features", "www.pasokh.mcls.gov.ir")):
            with self.subTest(overlay=overlay):
                public = by_key(self.docs[overlay])[("Ingress", "pasokh-web-public")]["spec"]
                self.assertEqual(
                    [(r["host"], p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
                     for r in public["rules"] for p in r["http"]["paths"]],
                    [(host, "/", "pasokh-web-public", "public")],
                )
                self.assertEqual(public["tls"], [{"secretName": "pasokh-tls", "hosts": [host]}])
        # path mode's rewrite annotations stay on the intakes' Ingress: the citizen's site is served as it is
        features = by_key(self.docs["all-features"])[("Ingress", "pasokh-web-public")]["metadata"]
        self.assertEqual(features["annotations"], {"nginx.ingress.kubernetes.io/proxy-body-size": "1m"})
        # the console's host, or a host the intakes already have, is refused as the public host
        for sets, fragment in (
            (["ingress.enabled=true", "web.ingress.publicHost=desk.pasokh.mcls.gov.ir"], "is the desk console's host"),
            (["ingress.enabled=true", "intake.provinces.IR-23.host=desk.pasokh.mcls.gov.ir"], "is the desk console's host"),
            (["ingress.enabled=true", "web.ingress.publicHost=ir-23.pasokh.mcls.gov.ir"], "is already an intake host"),
            (["ingress.enabled=true", "ingress.mode=path"], "is already an intake host"),
        ):
            with self.subTest(sets=sets):
                result = helm_template(sets=sets)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(fragment, result.stderr)

    def test_the_staff_port_admits_only_the_ministry_network(self):
        def rules(overlay, port):
            policy = self.policies(overlay)["web"]
            return [r for r in policy["spec"]["ingress"] if port in [p["port"] for p in r["ports"]]]
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                policy = self.policies(overlay)["web"]
                for rule in policy["spec"]["ingress"]:
                    self.assertIn("from", rule, "a rule without peers admits every source")
                    self.assertTrue(rule["from"])
                    if "staff" in [p["port"] for p in rule["ports"]]:
                        self.assertEqual([p["port"] for p in rule["ports"]], ["staff"], "that rule opens nothing else")
                        for peer in rule["from"]:
                            self.assertNotIn(peer, EVERYWHERE)
                            self.assertNotIn("podSelector", peer)
                            if "namespaceSelector" in peer:
                                self.assertTrue(peer["namespaceSelector"].get("matchLabels"), "an empty selector is every namespace")
                staff = self.values[overlay]["web"]["staffAccess"]
                if not (staff["cidrs"] or staff["namespaceSelector"]):
                    self.assertEqual(rules(overlay, "staff"), [], f"{overlay}: nothing configured, nobody admitted")
                # the citizen's site: from the ingress controller; metrics from monitoring
                sources = [r["from"] for r in rules(overlay, "public")]
                network = self.values[overlay]["networkPolicy"]
                self.assertEqual(
                    sources,
                    [
                        [{"namespaceSelector": {"matchLabels": network["ingressNamespaceSelector"]}}],
                        [{"namespaceSelector": {"matchLabels": network["monitoringNamespaceSelector"]}}],
                    ],
                )
        self.assertEqual(
            rules("all-features", "staff")[0]["from"],
            [
                {"ipBlock": {"cidr": "10.30.0.0/16"}},
                {"ipBlock": {"cidr": "fd00:30::/48"}},
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx-ministry"}}},
            ],
        )
        self.assertEqual(len(rules("all-features", "staff")), 1)

    def test_intake_and_notification_admit_the_web_on_their_http_port_only(self):
        web_pods = [{"podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "pasokh", "app.kubernetes.io/instance": "pasokh", "app.kubernetes.io/component": "web",
        }}}]
        for overlay, docs in self.docs.items():
            pods = dict(pod_templates(docs))
            network = self.values[overlay]["networkPolicy"]
            # intake: petitions filed and looked up; notification: the citizens' one-time codes
            for component in ("intake", "notification"):
                with self.subTest(overlay=overlay, component=component):
                    policy = self.policies(overlay)[component]
                    from_web = [
                        r for r in policy["spec"]["ingress"]
                        if any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "web" for p in r.get("from", []))
                    ]
                    self.assertEqual(len(from_web), 1)
                    self.assertEqual([p["port"] for p in from_web[0]["ports"]], ["http"], "not the internal or the partners' gRPC")
                    peers = from_web[0]["from"]
                    self.assertEqual(peers, web_pods)
                    admitted = {name for name, labels in pods.items() if selects(peers[0]["podSelector"], labels)}
                    self.assertEqual(admitted, {"Deployment/pasokh-web"}, "not its migration Job")
            # notification's HTTP: monitoring and the web's pods, nobody else (no Ingress reaches it)
            http = [r["from"] for r in self.policies(overlay)["notification"]["spec"]["ingress"] if "http" in [p["port"] for p in r["ports"]]]
            self.assertEqual(http, [[{"namespaceSelector": {"matchLabels": network["monitoringNamespaceSelector"]}}], web_pods], overlay)

    def test_the_web_can_be_left_out(self):
        docs = render("values-production.yaml", sets=["web.enabled=false"])
        self.assertFalse([d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") in ("web", "web-migrate")])
        self.assertFalse([d for d in docs if d["metadata"]["name"].startswith("pasokh-web")])
        for component in ("intake", "notification", "reporting"):
            policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == f"pasokh-{component}")
            self.assertNotIn("web", yaml.safe_dump(policy["spec"]), component)
        monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
        self.assertEqual([e["port"] for e in monitor["spec"]["endpoints"]], ["http"])
        # and nothing else changes, but for the allow-lists of the endpoints only the web uses: empty now
        # (so notification's and every intake's pods roll, through their config checksum)
        with_web = {k: v for k, v in by_key(self.docs["production"]).items() if not k[1].startswith("pasokh-web")}
        without = by_key(docs)
        self.assertEqual(with_web.keys(), without.keys())
        changed = {k for k in with_web if with_web[k] != without[k]}
        intakes = {f"pasokh-intake-{p.lower()}" for p in self.intakes("production")}
        self.assertEqual(
            changed,
            {("ServiceMonitor", "pasokh-metrics"), ("NetworkPolicy", "pasokh-intake"), ("NetworkPolicy", "pasokh-notification"),
             ("NetworkPolicy", "pasokh-reporting")}
            | {(kind, name) for name in intakes | {"pasokh-notification"} for kind in ("ConfigMap", "Deployment")},
        )
        allow_list = {"pasokh-notification": "one_time_code_clients"} | dict.fromkeys(intakes, "citizen_listing_clients")
        for name, key in allow_list.items():
            before = json.loads(with_web[("ConfigMap", name)]["data"]["config.json"])
            after = json.loads(without[("ConfigMap", name)]["data"]["config.json"])
            self.assertEqual((before.pop(key), after.pop(key)), (["pasokh-web"], []), name)
            self.assertEqual(before, after, f"{name}: only {key} changes")
            # copies: the rendered overlays are shared by every test
            deployments = [copy.deepcopy(with_web[("Deployment", name)]), copy.deepcopy(without[("Deployment", name)])]
            for deployment in deployments:
                deployment["spec"]["template"]["metadata"]["annotations"].pop("checksum/config")
            self.assertEqual(deployments[0], deployments[1], f"{name}: only the config checksum changes")

    def test_prometheus_scrapes_the_web_once_on_its_public_listener(self):
        monitor = next(d for d in self.docs["production"] if d["kind"] == "ServiceMonitor")
        endpoints = [e["port"] for e in monitor["spec"]["endpoints"]]
        self.assertEqual(endpoints, ["http", "public"])
        services = [d for d in self.docs["production"] if d["kind"] == "Service"]
        scraped = [s["metadata"]["name"] for s in services if {p["name"] for p in s["spec"]["ports"]} & set(endpoints)]
        self.assertIn("pasokh-web-public", scraped)
        self.assertNotIn("pasokh-web-staff", scraped)

    def test_optional_resources_are_off_by_default_and_render_when_enabled(self):
        optional = {"ServiceMonitor", "PrometheusRule", "Ingress", "KafkaTopic", "KafkaUser"}
        self.assertFalse(optional & {d["kind"] for d in self.docs["default"]})
        self.assertIn("NetworkPolicy", {d["kind"] for d in self.docs["default"]}, "NetworkPolicies are on by default")
        self.assertLessEqual(optional, {d["kind"] for d in self.docs["all-features"]})
        rules = next(d for d in self.docs["production"] if d["kind"] == "PrometheusRule")
        alerts = {r["alert"] for r in rules["spec"]["groups"][0]["rules"]}
        self.assertEqual(
            alerts,
            {
                "PasokhSlaBreachRate", "PasokhConsumerLag", "PasokhOutboxBacklog", "PasokhHttp5xxRate",
                "PasokhSmsFailed", "PasokhSmsDelayed", "PasokhSmsGatewayCredentials",
            },
        )
        for rule in rules["spec"]["groups"][0]["rules"]:
            self.assertTrue(rule["annotations"]["runbook"].startswith("docs/operations.md#alert-"), rule["alert"])

    def test_the_sms_gateway_credential_comes_from_a_secret_and_never_reaches_the_config_map(self):
        docs = render(sets=("notification.smsCredential.existingSecret=sms-gateway",))
        deployment = by_key(docs)[("Deployment", "pasokh-notification")]
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        self.assertEqual(
            env["PASOKH__SMS__GATEWAY_TOKEN"]["valueFrom"], {"secretKeyRef": {"name": "sms-gateway", "key": "token"}}
        )
        config = json.loads(by_key(docs)[("ConfigMap", "pasokh-notification")]["data"]["config.json"])
        self.assertNotIn("gateway_token", config["sms"])
        self.assertEqual(config["sms"]["retry_budget_secs"], 21600, "retried for hours, not minutes")
        # without a credential secret there is no variable to fill from a missing secret
        for docs in (self.docs["default"],):
            deployment = by_key(docs)[("Deployment", "pasokh-notification")]
            self.assertNotIn("PASOKH__SMS__GATEWAY_TOKEN", env_of(deployment["spec"]["template"]["spec"]["containers"][0]))

    def test_kafka_credentials_come_from_a_secret_and_never_reach_the_config_map(self):
        docs = render(sets=("kafka.secretProperties.sasl\\.password.secret=pasokh-kafka-sasl",
                            "kafka.secretProperties.sasl\\.password.key=password"))
        deployments = {
            d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in docs if d["kind"] == "Deployment"
        }
        for component in ("intake", "routing", "notification", "reporting"):
            env = env_of(deployments[component]["spec"]["template"]["spec"]["containers"][0])
            self.assertEqual(
                env["PASOKH__KAFKA__SECRET_PROPERTIES__SASL_PASSWORD"]["valueFrom"],
                {"secretKeyRef": {"name": "pasokh-kafka-sasl", "key": "password"}},
                component,
            )
        for name, component, config in configs(docs):
            self.assertNotIn("sasl.password", json.dumps(config), name)
            self.assertNotIn("sasl_password", json.dumps(config), name)
        # a credential among the plain properties is refused, naming the way to do it
        refused = helm_template(sets=["kafka.properties.sasl\\.password=hunter2"])
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("use kafka.secretProperties", refused.stderr)

    def policies(self, overlay):
        return {
            d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: d
            for d in self.docs[overlay]
            if d["kind"] == "NetworkPolicy"
        }

    def test_network_policies_are_on_in_every_overlay_and_cover_every_component(self):
        for overlay, docs in self.docs.items():
            policies = self.policies(overlay)
            self.assertEqual(set(policies), {"intake", "routing", "notification", "reporting", "web"}, overlay)
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
        # a restricted officers' gRPC still admits the web: the workspace calls it with the officer's token
        web_pods = {"podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "pasokh", "app.kubernetes.io/instance": "pasokh", "app.kubernetes.io/component": "web"}}}
        self.assertEqual(rules(features["routing"], "grpc")[0]["from"], [{"ipBlock": {"cidr": "10.20.0.0/16"}}, web_pods])
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
        every = ours | {"pasokh.desk.activity.v1"}
        self.assertEqual(set(topics), every | {f"{t}.dlq" for t in every})
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
        desk = "pasokh.desk.activity.v1"
        self.assertEqual(
            grants("pasokh-intake"),
            {("topic", t, op) for t in (lifecycle, desk) for op in ("Write", "Describe")},
        )
        self.assertIn(("topic", desk, "Read"), grants("pasokh-reporting"))
        self.assertNotIn(("topic", desk, "Write"), grants("pasokh-reporting"))
        self.assertIn(("group", "pasokh-routing", "Read"), grants("pasokh-routing"))
        # the replayer keeps a position per group it replays for: pasokh-dlq-replay-<group>
        replay_groups = [
            acl["resource"] for acl in users["pasokh-dlq-replay"]["spec"]["authorization"]["acls"]
            if acl["resource"]["type"] == "group"
        ]
        self.assertEqual(replay_groups, [{"type": "group", "name": "pasokh-dlq-replay", "patternType": "prefix"}])
        self.assertEqual(
            [a["resource"]["patternType"] for a in users["pasokh-routing"]["spec"]["authorization"]["acls"]
             if a["resource"]["type"] == "group"],
            ["literal"],
        )
        # routing follows the promises officials make at desk meetings; it never writes the desk topic
        self.assertIn(("topic", desk, "Read"), grants("pasokh-routing"))
        self.assertNotIn(("topic", desk, "Write"), grants("pasokh-routing"))
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
            # production's pools: intake's 4 (values-production.yaml), routing's 10, the others componentDefaults' 5
            pools = {"intake": 4, "routing": 10, "notification": 5, "reporting": 5}
            self.assertEqual(config["database"]["max_connections"], pools[service])
        self.assertNotIn("kafka-client", str(self.docs["default"]), "no TLS unless asked for")
        # the web talks to no broker: no Kafka settings, no certificate (there is no KafkaUser pasokh-web)
        web = docs[("Deployment", "pasokh-web")]["spec"]["template"]["spec"]
        self.assertFalse({v["name"] for v in web["volumes"]} & {"kafka-ca", "kafka-client"})
        self.assertNotIn("kafka", json.loads(docs[("ConfigMap", "pasokh-web")]["data"]["config.json"]))

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
                    self.assertEqual(printed["active_development_credentials"], [])
                    if component == "web":
                        self.assertEqual(printed["environment"], "production")
                        self.assertEqual(
                            (printed["listen"]["public_port"], printed["listen"]["staff_port"]),
                            (WEB_PORTS["public"], WEB_PORTS["staff"]),
                        )
                        # exactly the chart's intakes: nothing of the built-in defaults left in the map
                        self.assertEqual(printed["intake"]["urls"], json.loads(doc["data"]["config.json"])["intake"]["urls"])
                        self.assertEqual(printed["oidc"]["issuer"], values["auth"]["issuer"])
                        self.assertEqual(printed["oidc"]["client_id"], values["web"]["oidc"]["clientId"])
                        self.assertEqual(printed["oidc"]["client_secret"], "[redacted]")
                        # "my petitions": the release's notification, and the code's settings from values
                        self.assertEqual(printed["notification_url"], "http://pasokh-notification:8080")
                        code = values["web"]["oneTimeCode"]
                        self.assertEqual(
                            printed["one_time_code"],
                            {
                                "lifetime_secs": code["lifetimeSecs"],
                                "max_attempts": code["maxAttempts"],
                                "per_mobile_per_10_minutes": code["perMobilePer10Minutes"],
                                "per_ip_per_10_minutes": code["perIpPer10Minutes"],
                            },
                        )
                        continue
                    self.assertEqual(printed["listen"]["http_port"], 8080)
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
                    # the endpoints only the citizen's site uses: the web's service account, nothing of the defaults
                    web_clients = [values["web"]["oidc"]["clientId"]]
                    if component == "notification":
                        self.assertEqual(printed["one_time_code_clients"], web_clients)
                    if component == "intake":
                        self.assertIs(printed["dev_citizen_ref_key"], False)
                        self.assertIs(printed["open311"]["allow_dev_key"], False)
                        self.assertEqual(printed["open311"]["api_key_sha256"], values["intake"]["open311"]["apiKeySha256"])
                        self.assertEqual(printed["citizen_listing_clients"], web_clients)


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

    def test_the_old_per_service_tables_of_pools_and_secret_keys_are_refused(self):
        self.assert_refused("database.maxConnections.intake=4", "additional properties 'database' not allowed")
        self.assert_refused("secrets.database.keys.intake=x", "additional properties 'keys' not allowed")
        self.assert_refused("routing.database.maxConnection=4", "additional properties 'maxConnection' not allowed")
        self.assert_refused("componentDefaults.database.maxConnections=0", "/componentDefaults/database/maxConnections")

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

    def test_the_webs_values_are_checked(self):
        self.assert_refused("web.replicaz=3", "additional properties 'replicaz' not allowed")
        self.assert_refused("web.staffAccess.cidrs={0.0.0.0/0}", "/web/staffAccess/cidrs/0")
        self.assert_refused("web.staffAccess.cidrs={::/0}", "/web/staffAccess/cidrs/0")
        self.assert_refused("web.staffAccess.cidrs={ministry}", "/web/staffAccess/cidrs/0")
        self.assert_refused("web.staffAccess.serviceType=NodePort", "/web/staffAccess/serviceType")
        self.assert_refused("web.staffBaseUrl=https://desk.pasokh.mcls.gov.ir/", "/web/staffBaseUrl")
        self.assert_refused("web.staffBaseUrl=desk.pasokh.mcls.gov.ir", "/web/staffBaseUrl")
        self.assert_refused("web.oidc.clientSecret.name=", "/web/oidc/clientSecret/name")
        self.assert_refused("web.oidc.browserIssuer=sso.example", "/web/oidc/browserIssuer")
        # the SMS and the page promise 2 minutes: a shorter code would expire before the citizen was told it would
        self.assert_refused("web.oneTimeCode.lifetimeSecs=60", "/web/oneTimeCode/lifetimeSecs")
        self.assert_refused("web.oneTimeCode.maxAttempts=0", "/web/oneTimeCode/maxAttempts")
        self.assert_refused("web.oneTimeCode.perIpPer10Minutes=0", "/web/oneTimeCode/perIpPer10Minutes")
        self.assert_refused("web.oneTimeCode.maxAttempt=5", "additional properties 'maxAttempt' not allowed")
        result = helm_template(sets=["web.staffAccess.cidrs={10.20.0.0/16,2001:db8::/32}"])
        self.assertEqual(result.returncode, 0, result.stderr)

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
