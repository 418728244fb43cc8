"""`python -m deploy.security.kafka_acls [--check]`: the Kafka ACLs of each service's principal.

One principal per service (`User:usage-ingest`, `User:balance`,
`User:invoicing`). What each may do is derived from the service's own code:
every topic one of its subscribers reads (READ on the topic, READ on its
consumer group), every topic one of its publishers writes (WRITE), plus what
the code reads outside FastStream, declared below (`EXTRA`). Nothing else: a
service cannot read another's input, write another's output, or create and
delete topics (operators' `admin` does that, as the super user).

Idempotent producers need no cluster permission since Kafka 3.0 (KIP-679:
WRITE on a topic is enough), and no service uses transactions, so no
TRANSACTIONAL_ID grants. READ and WRITE imply DESCRIBE.

Writes `deploy/security/kafka-acls.md` (the list, for people) and
`deploy/security/kafka-acls.sh` (the same as `kafka-acls` commands, for
operators); `--check` exits 1 when they no longer match the code. The tests
apply the same list to a broker with the StandardAuthorizer (`apply`), so a
missing grant fails them.
"""

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.settings import BalanceSettings, InvoicingSettings, PortalSettings, ServiceSettings, UsageIngestSettings
from shared.topics import (DIRECTORY, INVOICES, MESSAGE_STATUS, PAYMENTS, RATECARDS, RECONCILIATION,
                           USAGE_PRICED)

HERE = Path(__file__).resolve().parent
DOC = HERE / "kafka-acls.md"
SCRIPT = HERE / "kafka-acls.sh"

ADMIN = "admin"
SERVICES: dict[str, type[ServiceSettings]] = {
    "usage-ingest": UsageIngestSettings,
    "balance": BalanceSettings,
    "invoicing": InvoicingSettings,
    "portal": PortalSettings,
}


@dataclass(frozen=True, order=True)
class Acl:
    """ALLOW `principal` to do `operation` on the literal resource `resource_type`:`name`."""

    principal: str
    resource_type: str  # TOPIC or GROUP
    name: str
    operation: str  # READ, WRITE or DESCRIBE
    why: str = ""


def _invoicing_extra(settings: ServiceSettings) -> list[tuple[str, str, str, str]]:
    # The month close's barrier (services/invoicing/service.py, shared/positions.py) reads where
    # these topics end (ListOffsets: DESCRIBE) and what the other two groups committed on them
    # (OffsetFetch: DESCRIBE on the group, and on the topic, or its partitions are left out).
    # tests/unit/security/test_kafka_acls.py runs the barrier and checks this list against it.
    assert isinstance(settings, InvoicingSettings)
    why = "month-close barrier"
    barrier = (MESSAGE_STATUS, PAYMENTS, DIRECTORY, RATECARDS, USAGE_PRICED)
    # After a restore it reads back what it published (services/invoicing/recovery.py), without a group.
    return [("TOPIC", t.name, "DESCRIBE", why) for t in barrier] + [
        ("GROUP", settings.ingest_group_id, "DESCRIBE", why),
        ("GROUP", settings.balance_group_id, "DESCRIBE", why),
        ("TOPIC", INVOICES.name, "READ", "invoices published, read back after a restore")]


# What a service does with Kafka outside its FastStream subscribers and publishers. (Usage
# ingest re-reads held statuses from wa.message-status.v1 without a group: its READ covers it.)
EXTRA: dict[str, Callable[[ServiceSettings], list[tuple[str, str, str, str]]]] = {
    "invoicing": _invoicing_extra,
}

# Principals of tools that are not services (no FastStream app to read their grants off).
TOOLS: dict[str, list[tuple[str, str, str, str]]] = {
    "reconciler": [("TOPIC", RECONCILIATION.name, "WRITE",
                    "publishes each reconciliation's result (ops/reconcile_metrics.py, the finance view)")],
}


def _factory(service: str) -> Callable[[ServiceSettings], object]:
    if service == "usage-ingest":
        from services.usage_ingest.app import create_app
    elif service == "balance":
        from services.balance.app import create_app
    elif service == "portal":
        from services.portal.app import create_app
    else:
        from services.invoicing.app import create_app
    return create_app  # type: ignore[return-value]


def service_acls(service: str, settings: ServiceSettings | None = None) -> list[Acl]:
    """Every grant `service` needs, read off its app as built with `settings` (defaults if None)."""
    settings = settings or SERVICES[service]()
    broker = _factory(service)(settings).broker  # type: ignore[attr-defined]
    principal = f"User:{service}"
    grants: dict[tuple[str, str, str], str] = {}
    for sub in broker.subscribers:
        for topic in sub.topic_names:
            grants.setdefault(("TOPIC", topic, "READ"), "consumes")
        if sub.group_id:
            grants.setdefault(("GROUP", sub.group_id, "READ"), "its consumer group")
    for pub in broker.publishers:
        why = "dead letters" if pub.topic.endswith(".dlq") else "publishes"
        grants.setdefault(("TOPIC", pub.topic, "WRITE"), why)
    for resource_type, name, operation, why in EXTRA.get(service, lambda _: [])(settings):
        grants.setdefault((resource_type, name, operation), why)
    return sorted(Acl(principal, *key, why=why) for key, why in grants.items())


def tool_acls(tool: str) -> list[Acl]:
    return sorted(Acl(f"User:{tool}", *grant[:3], why=grant[3]) for grant in TOOLS[tool])


def all_acls() -> list[Acl]:
    return [acl for service in SERVICES for acl in service_acls(service)] + [
        acl for tool in TOOLS for acl in tool_acls(tool)]


# --- for people and operators ---------------------------------------------------------------

def markdown(acls: Sequence[Acl]) -> str:
    lines = [
        "# Kafka ACLs per service principal",
        "",
        "Generated by `python -m deploy.security.kafka_acls` from the services' code; do not edit.",
        "Every grant is ALLOW, literal resource names, any host. `User:admin` is the super user",
        "(topics, ACLs, SCRAM credentials) and no service runs as it. READ and WRITE imply DESCRIBE;",
        "idempotent producers need no cluster grant (KIP-679) and no service uses transactions.",
        "Consumer group names are the defaults (`BILLING_<SERVICE>_GROUP_ID`).",
        "",
    ]
    for service in [*SERVICES, *TOOLS]:
        mine = [a for a in acls if a.principal == f"User:{service}"]
        lines += [f"## `User:{service}`", "", "| resource | name | operation | why |", "|---|---|---|---|"]
        lines += [f"| {a.resource_type.lower()} | `{a.name}` | {a.operation} | {a.why} |" for a in mine]
        lines.append("")
    return "\n".join(lines)


def shell(acls: Sequence[Acl]) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# Generated by `python -m deploy.security.kafka_acls` from the services' code; do not edit.",
        "# Creates every service principal's ACLs with Kafka's own tool, as the admin principal:",
        "#   KAFKA_BOOTSTRAP=broker:9093 ADMIN_CONFIG=admin.properties bash deploy/security/kafka-acls.sh",
        "# (admin.properties: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.*).",
        "# Re-running it is harmless: Kafka keeps one copy of each ACL.",
        "set -euo pipefail",
        ': "${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP}" "${ADMIN_CONFIG:?set ADMIN_CONFIG}"',
        'acl() { kafka-acls.sh --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$ADMIN_CONFIG" '
        '--add --allow-principal "$1" --operation "$2" "--$3" "$4"; }',
    ]
    for a in acls:
        kind = "topic" if a.resource_type == "TOPIC" else "group"
        lines.append(f"acl '{a.principal}' {a.operation.capitalize()} {kind} '{a.name}'")
    return "\n".join(lines) + "\n"


def stale() -> list[Path]:
    acls = all_acls()
    return [p for p, text in ((DOC, markdown(acls)), (SCRIPT, shell(acls)))
            if not p.exists() or p.read_text() != text]


# --- applied through the Admin API (the tests, the local stack) -------------------------------

_RESOURCE = {"TOPIC": 2, "GROUP": 3}
_OPERATION = {"READ": 3, "WRITE": 4, "DESCRIBE": 8}
_LITERAL, _ALLOW = 3, 3


async def apply(admin: object, acls: Sequence[Acl]) -> None:
    """Create `acls` with an aiokafka admin client logged in as the super user (idempotent)."""
    from aiokafka.protocol.admin import CreateAclsRequest

    for a in acls:
        request = CreateAclsRequest(_RESOURCE[a.resource_type], a.name, _LITERAL, a.principal, "*",
                                    _OPERATION[a.operation], _ALLOW)
        response = await admin._send_request(request)  # type: ignore[attr-defined]
        for error_code, error_message in response.creation_responses:
            if error_code:
                raise RuntimeError(f"creating {a} failed: {error_code} {error_message}")


def main(argv: list[str]) -> int:
    if "--check" in argv:
        paths = stale()
        for p in paths:
            print(f"{p.relative_to(HERE.parents[1])} differs from the code: run python -m "
                  "deploy.security.kafka_acls", file=sys.stderr)
        return 1 if paths else 0
    acls = all_acls()
    DOC.write_text(markdown(acls))
    SCRIPT.write_text(shell(acls))
    SCRIPT.chmod(0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
