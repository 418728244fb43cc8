"""The compose file, the Kubernetes manifests and the Dockerfile are valid and in step with the code.

They cannot run here (no Docker engine, no cluster): these tests check their
structure, and that every BILLING_* variable they set is a setting the code
reads, every probe hits the service's own port, every password comes from a
secret, and the topics and roles are the ones the code and the security
conventions name.
"""

import re
from pathlib import Path

import pytest
import yaml

from ops.reconcile_metrics import main as reconciler_main
from shared.settings import (BalanceSettings, DatabaseSettings, InvoicingSettings, KafkaSettings, PortalSettings,
                             ServiceSettings, UsageIngestSettings)
from shared.topics import topic_partitions

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "k8s"

# name → (module, settings, schema, Kafka principal, database role)
SERVICES = {
    "usage-ingest": ("services.usage_ingest", UsageIngestSettings, "usage_ingest", "usage-ingest",
                     "billing_usage_ingest"),
    "balance": ("services.balance", BalanceSettings, "balance", "balance", "billing_balance"),
    "invoicing": ("services.invoicing", InvoicingSettings, "invoicing", "invoicing", "billing_invoicing"),
    "portal": ("services.portal", PortalSettings, "portal", "portal", "billing_portal"),
}
# Kafka principals of tools that are not services (deploy/security/kafka_acls.py, TOOLS).
TOOL_PRINCIPALS = {"reconciler"}


def names_of(settings: type) -> set[str]:
    prefix = settings.model_config["env_prefix"]
    nested = {"kafka", "db"} if issubclass(settings, ServiceSettings) else set()
    return {f"{prefix}{field}".upper() for field in settings.model_fields if field not in nested}


def accepted(settings: type | None) -> set[str]:
    """Every variable a process with these settings reads (the shared Kafka and database ones too)."""
    shared = names_of(KafkaSettings) | names_of(DatabaseSettings)
    return shared | (names_of(settings) if settings else set())


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def manifests() -> list[dict]:
    return [d for f in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def test_the_schemas_and_names_here_are_the_services_own():
    """The schema each service migrates is the one its app.py names."""
    for name, (module, _, schema, _, _) in SERVICES.items():
        app = (ROOT / module.replace(".", "/") / "app.py").read_text()
        assert re.search(rf'Runtime\(NAME, "{schema}"', app), name
        assert re.search(rf'NAME = "{name}"', app), name


# --- docker compose ---------------------------------------------------------------------------------


def test_compose_runs_kafka_in_kraft_mode_from_the_official_image_postgres_and_every_service():
    """apache/kafka as broker and controller (no ZooKeeper), PostgreSQL, the services, the reconciler."""
    services = compose()["services"]
    assert {"kafka", "kafka-init", "postgres", *SERVICES, "reconciler"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert not any("zookeeper" in name for name in services)
    assert not any(k.startswith("KAFKA_ZOOKEEPER") for k in kafka["environment"])
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("kafka", "postgres"):
        assert services[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", SERVICES)
def test_a_compose_service_is_built_from_the_dockerfile_and_configured_with_real_settings(name):
    """Build, command, env names the settings read, its principal and role, health on its port, order."""
    module, settings, _, principal, role = SERVICES[name]
    service = compose()["services"][name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile" and service["build"]["context"] == ".."
    assert service["command"] == ["python", "-m", module]
    env = service["environment"]
    assert set(env) <= accepted(settings), sorted(set(env) - accepted(settings))
    assert env["BILLING_KAFKA_SASL_USERNAME"] == principal and env["BILLING_DB_USER"] == role
    assert env["BILLING_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    port = int(env[f"{settings.model_config['env_prefix']}HTTP_PORT"])
    assert port == settings.model_fields["http_port"].default
    assert env[f"{settings.model_config['env_prefix']}HTTP_HOST"] == "0.0.0.0"
    assert f"http://127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"


def test_compose_takes_every_password_from_the_env_file_and_never_holds_one():
    """Each *PASSWORD* value is a required ${…} from deploy/.env; the example file has only placeholders."""
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (name, key)
    example = (DEPLOY / ".env.example").read_text()
    assert all(v == "change-me" for v in re.findall(r"^[A-Z_]+=(.*)$", example, re.M))
    wanted = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text()))
    assert wanted == set(re.findall(r"^([A-Z_]+)=", example, re.M))


def test_compose_creates_every_topic_of_the_code_with_its_partitions_and_one_principal_per_service():
    """kafka-init's list is shared/topics.py's; SCRAM users are the three services'."""
    script = (DEPLOY / "compose" / "kafka-init.sh").read_text()
    topics = dict((t, int(n)) for t, n in re.findall(r"\b([a-z][a-z0-9.-]+\.v1(?:\.dlq)?):(\d+)\b", script))
    assert topics == topic_partitions()
    assert set(re.findall(r"^scram ([a-z-]+) ", script, re.M)) == {p for _, _, _, p, _ in SERVICES.values()} | \
        TOOL_PRINCIPALS
    assert compose()["services"]["kafka-init"]["network_mode"] == "service:kafka"


def test_compose_makes_the_security_roles_and_gives_each_its_password():
    """The roles are deploy/security/postgres-roles.sql's (billing_<schema> owns <schema>, billing_reconcile
    reads); postgres-init.sh runs it and sets each role's password from the env file."""
    roles = (DEPLOY / "security" / "postgres-roles.sql").read_text()
    init = (DEPLOY / "compose" / "postgres-init.sh").read_text()
    postgres = compose()["services"]["postgres"]
    assert "./security/postgres-roles.sql:/billing/postgres-roles.sql:ro" in postgres["volumes"]
    assert "-f /billing/postgres-roles.sql" in init
    for _, _, schema, _, role in SERVICES.values():
        assert f"('{role}', '{schema}')" in roles
        assert f"ALTER ROLE {role} PASSWORD :'" in init
    assert "ALTER ROLE billing_reconcile PASSWORD :'" in init


def test_the_compose_reconciler_is_configured_with_database_settings_only():
    """It reads BILLING_DB_* and serves the port Prometheus scrapes."""
    service = compose()["services"]["reconciler"]
    assert set(service["environment"]) <= accepted(None)
    assert service["command"][:3] == ["python", "-m", "ops.reconcile_metrics"]
    assert "9108" in service["command"] and callable(reconciler_main)
    assert service["environment"]["BILLING_DB_USER"] == "billing_reconcile"


# --- Kubernetes -----------------------------------------------------------------------------------


def test_every_manifest_has_what_kubernetes_requires_and_the_kustomization_lists_them_all():
    """apiVersion, kind, metadata.name (and namespace billing); every file is in kustomization.yaml."""
    for doc in manifests():
        assert doc["apiVersion"] and doc["kind"]
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]
            assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "billing"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {f.name for f in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def container_of(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_names(container: dict) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(of_kind("ConfigMap")[source["configMapRef"]["name"]]["data"])
    return names


@pytest.mark.parametrize("name", SERVICES)
def test_a_deployment_runs_several_replicas_with_probes_limits_and_config_from_env_and_secrets(name):
    """Selector matches the pod, ≥2 replicas, live/ready probes on the settings' port, limits,
    BILLING_* names the settings read, passwords from secretKeyRef, SASL_SSL with SCRAM-SHA-512."""
    module, settings, _, principal, role = SERVICES[name]
    deployment = of_kind("Deployment")[name]
    spec, pod = deployment["spec"], deployment["spec"]["template"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    container = container_of(deployment)
    assert container["command"] == ["python", "-m", module]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == settings.model_fields["http_port"].default
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    names = env_names(container)
    assert names <= accepted(settings), sorted(names - accepted(settings))
    env = {e["name"]: e for e in container["env"]}
    assert env["BILLING_KAFKA_SASL_USERNAME"]["value"] == principal
    assert env["BILLING_DB_USER"]["value"] == role
    for key in ("BILLING_KAFKA_SASL_PASSWORD", "BILLING_DB_PASSWORD"):
        assert set(env[key]) == {"name", "valueFrom"} and env[key]["valueFrom"]["secretKeyRef"]["name"]
    common = of_kind("ConfigMap")["billing-common"]["data"]
    assert common["BILLING_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert common["BILLING_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(Path(common["BILLING_KAFKA_SSL_CAFILE"]).parent) in mounts
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["http"]) and annotations["prometheus.io/path"] == "/metrics"
    service = of_kind("Service")[name]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in ports
    assert of_kind("PodDisruptionBudget")[name]["spec"]["selector"] == spec["selector"]


def test_no_manifest_holds_a_password_or_a_secret_object():
    """Secrets are created outside the repository (docs/deployment.md); manifests only refer to them."""
    for doc in manifests():
        assert doc["kind"] != "Secret"
    for deployment in of_kind("Deployment").values():
        for e in container_of(deployment).get("env", []):
            if "PASSWORD" in e["name"]:
                assert "value" not in e and "secretKeyRef" in e["valueFrom"]


def test_the_reconciler_deployment_reads_the_database_as_its_read_only_role_and_is_scraped():
    """One replica, billing_reconcile, its password from a secret, probes and annotations on 9108."""
    deployment = of_kind("Deployment")["reconciler"]
    container = container_of(deployment)
    assert deployment["spec"]["replicas"] == 1
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= accepted(None)
    assert env["BILLING_DB_USER"]["value"] == "billing_reconcile"
    assert "secretKeyRef" in env["BILLING_DB_PASSWORD"]["valueFrom"]
    assert container["ports"][0]["containerPort"] == 9108
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9108"


# --- Dockerfile -----------------------------------------------------------------------------------


def test_the_dockerfile_builds_the_package_and_runs_as_a_non_root_user():
    """Multi-stage from python:3.11; the package (with its migrations) is installed; USER is not root."""
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.findall(r"^FROM python:3\.1[1-9]", text, re.M)
    assert "pip install /wheels/*.whl" in text
    for folder in ("shared", "services", "ops"):
        assert f"COPY {folder} {folder}" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0"))
