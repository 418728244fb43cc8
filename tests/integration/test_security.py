"""Security end to end: a broker that takes only SCRAM logins over TLS and enforces ACLs, each
service as its own Kafka principal and its own PostgreSQL role, and the recipient's phone number
(CONTRACT.md §4.1) nowhere in a log or a table after a real run.

The broker is this module's own (its folder `.stack/test-sasl`, free ports, or
`BILLING_TEST_SASL_KAFKA_PORT` / `BILLING_TEST_SASL_KAFKA_CONTROLLER_PORT`), started with
SASL_SSL, SCRAM-SHA-512 credentials for `admin` and the three service principals, the
StandardAuthorizer, and exactly the ACLs of `deploy/security/kafka_acls.py`. The services use
their default consumer groups on it, so the ACLs tested are the documented ones. The database is
a fresh one with the roles of `deploy/security/postgres-roles.sql`.
"""

import asyncio
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.stack import kafka, security
from deploy.stack.process import StackError
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from deploy.stack.topics import ensure_topics
from ops.reconcile import reconcile
from shared.contracts import Invoice
from shared.kafka import client_options
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import COMMANDS, DIRECTORY, INVOICES, MESSAGE_STATUS, PAYMENTS, RATECARDS
from tests.builders import EUR_CARD, channel, client, partner, pricing, status

from .conftest import free_port, service_env
from .kafka_io import collect, publish
from .processes import ServiceProcess
from . import stack as test_stack
from .stack import Endpoints

ROLES_SQL = PROJECT_ROOT / "deploy" / "security" / "postgres-roles.sql"
SERVICES = {"usage-ingest": ("services.usage_ingest", "BILLING_USAGE_INGEST_", "billing_usage_ingest"),
            "balance": ("services.balance", "BILLING_BALANCE_", "billing_balance"),
            "invoicing": ("services.invoicing", "BILLING_INVOICING_", "billing_invoicing")}
SCHEMAS = ("usage_ingest", "balance", "invoicing")

# The recipient of this module's messages: a German mobile number that appears nowhere else.
NUMBER = "4917658240913"
NUMBER_FORMS = (f"+{NUMBER}", NUMBER, "17658240913", "0" + "17658240913", "176 58240913")


def sasl_stack_settings() -> StackSettings:
    base = test_stack.test_stack_settings()
    return StackSettings(
        dir=base.dir.parent / f"{base.dir.name}-sasl",
        kafka_port=int(os.environ.get("BILLING_TEST_SASL_KAFKA_PORT") or free_port()),
        kafka_controller_port=int(os.environ.get("BILLING_TEST_SASL_KAFKA_CONTROLLER_PORT") or free_port()),
        kafka_security="SASL_SSL", kafka_heap="512m")


def _share_jars(s: StackSettings) -> None:
    """The jars the test stack already copied, rather than a second copy by Maven."""
    mine, theirs = s.dir / "kafka" / "lib", test_stack.test_stack_settings().dir / "kafka" / "lib"
    if not mine.exists() and (theirs / ".pom-sha256").exists():
        mine.parent.mkdir(parents=True, exist_ok=True)
        mine.symlink_to(theirs, target_is_directory=True)


@pytest.fixture(scope="module")
def sasl_broker(stack) -> Iterator[StackSettings]:
    """A fresh SASL_SSL broker with ACLs and every topic; stopped at the end of the module."""
    s = sasl_stack_settings()
    try:
        kafka.check_java(s)
    except StackError as exc:  # a Docker machine (testcontainers) without a JDK
        pytest.skip(f"the SASL broker runs from the Maven jars and needs Java: {exc}")
    kafka.stop(s)  # one an interrupted run of this module left behind, if any
    for stale in ("data", "secrets", "tls"):  # new credentials, empty topics
        shutil.rmtree(s.dir / "kafka" / stale, ignore_errors=True)
    _share_jars(s)
    try:
        kafka.start(s)
        asyncio.run(ensure_topics(security.client_settings(s), acls=True))
        yield s
    finally:
        kafka.stop(s)


@dataclass
class Roles:
    admin: DatabaseSettings
    passwords: dict[str, str]

    def as_role(self, role: str) -> DatabaseSettings:
        return self.admin.model_copy(update={"user": role, "password": SecretStr(self.passwords[role])})


async def _admin(db: DatabaseSettings, name: str | None = None) -> asyncpg.Connection:
    return await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=name or db.name,
                                 password=db.password.get_secret_value())


@pytest.fixture(scope="module")
def roles(stack) -> Iterator[Roles]:
    """A database of this module's own with the per-service roles, each with a new password."""
    name = f"t_sec_{secrets.token_hex(4)}"
    passwords = {role: secrets.token_urlsafe(16) for _, _, role in SERVICES.values()}
    passwords["billing_reconcile"] = secrets.token_urlsafe(16)

    async def create() -> None:
        conn = await _admin(stack.db)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        conn = await _admin(stack.db, name)
        try:
            await conn.execute(ROLES_SQL.read_text())
            await conn.execute(ROLES_SQL.read_text())  # idempotent
            for role, password in passwords.items():
                await conn.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await _admin(stack.db)
        try:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    try:
        yield Roles(stack.db.model_copy(update={"name": name}), passwords)
    finally:
        asyncio.run(drop())


def service(s: StackSettings, roles: Roles, name: str, log: Path, **extra: str) -> ServiceProcess:
    """`name` logging in to Kafka as its own principal and to PostgreSQL as its own role."""
    module, prefix, role = SERVICES[name]
    db = roles.as_role(role)
    env = service_env(Endpoints(s.kafka_bootstrap, db), prefix)
    env.update(security.client_env(s, name))
    env.update({f"{prefix}SWEEP_INTERVAL_S": "0.5", **extra})
    return ServiceProcess(module, env, f"{prefix}HTTP_PORT", log)


@dataclass
class Run:
    logs: list[Path]
    partner: str
    invoices: list[Invoice]
    balance: Decimal
    dead_letters: list[bytes]


@pytest.fixture(scope="module")
def secured_run(sasl_broker: StackSettings, roles: Roles, tmp_path_factory) -> Run:
    """Directory, rate card, a top-up, statuses to NUMBER (charged, free, held, without a rate), and a
    month close, through the three services on the secured broker."""
    s, logs = sasl_broker, tmp_path_factory.mktemp("secured")
    admin = security.client_settings(s)
    u = secrets.token_hex(4)
    pa, cl, ch, ghost = f"{u}secPA", f"{u}secCL", f"{u}secCH", f"{u}ghostCH"
    charged, free, norate, held = (f"wamid.{u}.{n}" for n in ("charged", "free", "norate", "held"))
    statuses = [
        status(charged, ch, "sent", "2026-10-05T10:00:00Z", NUMBER, pricing()),
        status(charged, ch, "delivered", "2026-10-05T10:00:03Z", NUMBER),
        status(free, ch, "delivered", "2026-10-05T10:01:00Z", NUMBER, pricing("service", "free_customer_service")),
        status(norate, ch, "delivered", "2026-10-05T10:02:00Z", NUMBER, pricing("referral_conversion")),
        status(held, ghost, "delivered", "2026-10-05T10:03:00Z", NUMBER, pricing()),
    ]
    payment = {"type": "payment.succeeded", "payment_id": f"pay-{u}", "account": {"partner_id": pa},
               "amount": "100.00", "currency": "EUR", "method": "card", "paid_at": "2026-10-02T08:00:00Z",
               "topup_request_id": None}

    async def play() -> Run:
        await publish(admin, RATECARDS.name, [(b"EUR", json.dumps(EUR_CARD).encode())])
        await publish(admin, DIRECTORY.name, [
            (pa.encode(), json.dumps(v).encode())
            for v in (partner(pa, "partner_paid", "EUR"), client(cl, pa),
                      channel(ch, cl, pa))])
        await publish(admin, PAYMENTS.name, [(pa.encode(), json.dumps(payment).encode())])
        await publish(admin, MESSAGE_STATUS.name, [(st["channel_id"].encode(), json.dumps(st).encode())
                                                    for st in statuses])
        # Refused at the gate, logged as "record refused": E.164 with its '+', and broken JSON.
        with_plus = status(f"wamid.{u}.plus", ch, "delivered", "2026-10-05T10:04:00Z", f"+{NUMBER}", pricing())
        await publish(admin, MESSAGE_STATUS.name, [
            (ch.encode(), json.dumps(with_plus).encode()),
            (ch.encode(), json.dumps(with_plus).encode()[:-20])])
        letters = await collect(admin, MESSAGE_STATUS.dlq, lambda r: r.key == ch.encode(), count=2)
        await _until_debited(roles, pa, Decimal("99.8869"))
        await publish(admin, COMMANDS.name, [(b"2026-10", json.dumps(
            {"type": "month.close", "command_id": f"close-{u}", "month": "2026-10"}).encode())])
        records = await collect(admin, INVOICES.name, lambda r: r.key == pa.encode(), count=3, timeout_s=60,
                                identity=lambda r: json.loads(r.value)["kind"])
        return Run(logs=[], partner=pa, invoices=[Invoice.model_validate_json(r.value) for r in records],
                   balance=await _balance(roles, pa), dead_letters=[r.value for r in letters])

    procs = [service(s, roles, name, logs / f"{name}.log",
                     **({"BILLING_INVOICING_AUTO_CLOSE": "false"} if name == "invoicing" else {}))
             for name in SERVICES]
    for p in procs:
        p.start()
    try:
        run = asyncio.run(play())
    finally:
        codes = [p.terminate() for p in procs]
    assert codes == [0, 0, 0], "each service stops cleanly"
    run.logs = [p.log for p in procs]
    return run


async def _balance(roles: Roles, owner: str) -> Decimal:
    conn = await _admin(roles.as_role("billing_reconcile"))
    try:
        return await conn.fetchval("SELECT amount FROM balance.balances WHERE owner_id = $1", owner)
    finally:
        await conn.close()


async def _until_debited(roles: Roles, owner: str, amount: Decimal, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.25)):
        if await _balance(roles, owner) == amount:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{owner} was not debited to {amount}: {await _balance(roles, owner)}")


def test_each_service_as_its_own_principal_and_role_prices_debits_and_invoices(secured_run, roles):
    """Over SASL_SSL with ACLs and per-service database roles: the message is priced and debited, the
    month closes behind its barrier (which reads the other groups' offsets) and is invoiced."""
    assert secured_run.balance == Decimal("99.8869")
    kinds = {i.kind for i in secured_run.invoices}
    assert kinds == {"prepayment", "subscription", "month_closing"}
    closing = next(i for i in secured_run.invoices if i.kind == "month_closing")
    assert [(line.code, line.amount) for line in closing.lines if line.code == "usage"] == [
        ("usage", Decimal("0.11"))]
    checks = asyncio.run(reconcile(roles.as_role("billing_reconcile"), settle_s=10))
    assert [c.name for c in checks if not c.ok] == [], "the read-only reconcile role sees every schema"


def test_the_recipient_number_is_in_no_log_and_no_table(secured_run, roles):
    """CONTRACT.md §4.1: after statuses to NUMBER were charged, free and held (unknown channel, no
    rate), no service log and no row of any service's table holds it, in any form."""
    assert len(secured_run.dead_letters) == 2 and all(NUMBER.encode() in d for d in secured_run.dead_letters), \
        "the number did flow: the dead letters keep the payload (DLQs are for operators only)"
    for log in secured_run.logs:
        text = log.read_text(errors="replace")
        assert "migrations applied" in text, "the service did log"
        assert [f for f in NUMBER_FORMS if f in text] == [], f"{log.name} shows the number"
    assert "record refused" in secured_run.logs[0].read_text(), "usage ingest logged its refusals"
    found = asyncio.run(_rows_with_number(roles.admin))
    assert found == [], f"the number is stored in {found}"


def test_no_service_logs_a_password(secured_run, sasl_broker, roles):
    """Neither the Kafka principals' nor the database roles' passwords appear in any service's log."""
    passwords = [security.password(sasl_broker, p) for p in security.principals()] + list(roles.passwords.values())
    for log in secured_run.logs:
        text = log.read_text(errors="replace")
        assert not [p for p in passwords if p in text], f"{log.name} shows a password"


async def _rows_with_number(db: DatabaseSettings) -> list[str]:
    """Every row of every table of the three schemas, as text and as bytes, searched for NUMBER."""
    conn = await _admin(db)
    hits: list[str] = []
    try:
        tables = await conn.fetch("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1)",
                                  list(SCHEMAS))
        assert len(tables) > 10, "the services migrated their schemas"
        for t in tables:
            for row in await conn.fetch(f'SELECT * FROM "{t["schemaname"]}"."{t["tablename"]}"'):
                for value in row.values():
                    text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
                    if any(f in text for f in NUMBER_FORMS):
                        hits.append(f"{t['schemaname']}.{t['tablename']}")
    finally:
        await conn.close()
    return sorted(set(hits))


def test_a_service_role_cannot_touch_another_services_schema(secured_run, roles):
    """billing_balance reads its own tables but not usage ingest's or invoicing's, creates no schema;
    billing_reconcile reads everything and writes nothing."""

    async def check() -> None:
        conn = await _admin(roles.as_role("billing_balance"))
        try:
            assert await conn.fetchval("SELECT count(*) FROM balance.ledger") >= 2
            for query in ("SELECT count(*) FROM usage_ingest.messages", "SELECT count(*) FROM invoicing.invoices",
                          "CREATE SCHEMA intruder", "CREATE TABLE public.intruder (x int)"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(query)
        finally:
            await conn.close()
        conn = await _admin(roles.as_role("billing_usage_ingest"))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT count(*) FROM balance.balances")
        finally:
            await conn.close()
        conn = await _admin(roles.as_role("billing_reconcile"))
        try:
            assert await conn.fetchval("SELECT count(*) FROM usage_ingest.messages") >= 4
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM balance.ledger")
        finally:
            await conn.close()

    asyncio.run(check())


def test_a_principal_is_refused_what_its_acls_do_not_allow(sasl_broker):
    """Balance may write balance events but not invoices: the ACLs are least privilege."""

    async def check() -> None:
        producer = AIOKafkaProducer(acks="all", enable_idempotence=True,
                                    **client_options(security.client_settings(sasl_broker, "balance")))
        await producer.start()
        try:
            await producer.send_and_wait("billing.balance-events.v1", b"{}", key=b"acl-probe")
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(INVOICES.name, b"{}", key=b"acl-probe")
        finally:
            await producer.stop()

    asyncio.run(check())


def test_a_wrong_password_fails_start_up_clearly_without_showing_it(sasl_broker, roles, tmp_path):
    """A service whose SCRAM password is wrong exits non-zero, its log says authentication failed, and
    the password it tried is not in the log."""
    wrong = "wrong-" + secrets.token_hex(8)
    proc = service(sasl_broker, roles, "balance", tmp_path / "balance.log", BILLING_KAFKA_SASL_PASSWORD=wrong)
    with pytest.raises(RuntimeError, match="exited"):
        proc.start(timeout_s=60)
    assert proc.proc is not None and proc.proc.returncode != 0
    log = proc.log.read_text(errors="replace")
    assert "SaslAuthenticationFailed" in log or "Authentication failed" in log
    assert wrong not in log
    assert roles.passwords["billing_balance"] not in log


async def test_a_schema_migrated_by_the_shared_role_is_handed_over_to_the_services_role(own_database, roles):
    """Upgrading a database whose schemas the shared `billing` role migrated: the script hands each
    schema and its tables (identity sequences and free sequences too) to the service's role, which
    then migrates (nothing to do) and writes its tables."""
    from shared.db import create_pool, migrate

    migrations = PROJECT_ROOT / "services" / "usage_ingest" / "migrations"
    assert migrate(own_database.db, "usage_ingest", migrations)
    password = roles.passwords["billing_usage_ingest"]  # roles belong to the server, not a database
    conn = await _admin(own_database.db)
    try:
        await conn.execute(ROLES_SQL.read_text())
        owners = {r["relname"]: r["owner"] for r in await conn.fetch(
            "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'usage_ingest' "
            "AND c.relkind IN ('r', 'S')")}
    finally:
        await conn.close()
    assert set(owners.values()) == {"billing_usage_ingest"}, owners
    assert "ratecard_versions" in owners
    role = own_database.db.model_copy(update={"user": "billing_usage_ingest", "password": SecretStr(password)})
    assert migrate(role, "usage_ingest", migrations) == []
    pool = await create_pool(role, "usage_ingest", "test")
    try:
        await pool.execute("INSERT INTO outbox (topic, value) VALUES ('t', 'v')")
        assert await pool.fetchval("SELECT nextval('ratecard_versions')") >= 1
    finally:
        await pool.close()
