"""The dashboard and the alert rules parse, and every metric they use is one the code exposes."""

import json
import re
from pathlib import Path

import pytest
import yaml

from ops.reconcile_metrics import ReconcileMetrics
from services.balance.app import NAME as BALANCE
from services.invoicing.app import NAME as INVOICING
from services.usage_ingest.app import NAME as USAGE_INGEST
from shared.service import Runtime
from shared.settings import BalanceSettings, InvoicingSettings, UsageIngestSettings

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "billing.json"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yml"
PROMETHEUS = OBSERVABILITY / "prometheus" / "prometheus.yml"
DOC = ROOT / "docs" / "observability.md"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
# Series Prometheus makes itself, not the services.
PROMETHEUS_SERIES = {"up"}


def registries():
    for name, settings in ((USAGE_INGEST, UsageIngestSettings), (BALANCE, BalanceSettings),
                           (INVOICING, InvoicingSettings)):
        yield Runtime(name, name, ROOT, settings()).metrics.registry
    yield ReconcileMetrics().registry


def exposed() -> tuple[set[str], set[str]]:
    """The sample names the services and the reconciler expose, and their label names."""
    names, labels = set(), set()
    for registry in registries():
        for family in registry.collect():
            names |= {family.name + s for s in SUFFIXES.get(family.type, ("",))}
        for collector in list(registry._collector_to_names):
            labels |= set(getattr(collector, "_labelnames", ()))
    return names, labels


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def metrics_in(expr: str) -> set[str]:
    """Identifiers that name series: billing_* (minus label names) and Prometheus's own."""
    return set(re.findall(r"\b(billing_[a-z0-9_]+|up)\b", expr))


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_of_the_dashboard_and_the_alerts_is_exposed_by_the_code(source):
    """Renaming a metric in the code without the dashboard or the alerts fails here."""
    names, labels = exposed()
    exprs = dashboard_exprs() if source == "dashboard" else [r["expr"] for r in alert_rules()]
    used = set().union(*(metrics_in(e) for e in exprs)) - labels
    assert used, "no metric found: the expression parser is broken"
    assert used - PROMETHEUS_SERIES <= names, sorted(used - PROMETHEUS_SERIES - names)


def test_the_dashboard_is_grafana_json_with_unique_panel_ids_and_a_prometheus_datasource():
    """Importable as is: a title, a uid, panels with ids and targets on the datasource variable."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
    assert any(v["name"] == "datasource" for v in dashboard["templating"]["list"])


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section_in_the_docs():
    """On-call gets a severity, a one-line summary and a runbook entry under the alert's name."""
    doc = DOC.read_text()
    rules = alert_rules()
    assert {"BillingServiceDown", "BillingConsumerLagGrowing", "BillingDeadLettersGrowing",
            "BillingReconciliationFailing"} <= {r["alert"] for r in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert f"### {rule['alert']}" in doc, f"docs/observability.md has no runbook for {rule['alert']}"


def test_prometheus_scrapes_one_job_per_service_as_the_alerts_name_them():
    """job="billing-<service>" for the three services and the reconciler, and the rules are loaded."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {j["job_name"]: "{}:{}".format(j["dns_sd_configs"][0]["names"][0], j["dns_sd_configs"][0]["port"])
            for j in config["scrape_configs"]}
    assert jobs == {"billing-usage-ingest": "usage-ingest:8081", "billing-balance": "balance:8082",
                    "billing-invoicing": "invoicing:8083", "billing-reconciler": "reconciler:9108"}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    for job in jobs:
        assert job in ALERTS.read_text() or job == "billing-reconciler"
