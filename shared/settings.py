"""Configuration: one pydantic-settings class per service, sharing Kafka and database parts.

Every value comes from environment variables (or a `.env` file), secrets as
`SecretStr` so they never reach a log or a repr. The service classes read
`BILLING_<SERVICE>_*`; the shared parts read `BILLING_KAFKA_*` and
`BILLING_DB_*`, so one deployment sets them once for all three services.

Any variable can also be a file named like it in the secrets folder
(`BILLING_SECRETS_DIR`, default `/run/secrets`, where Docker and Kubernetes
mount secrets): `/run/secrets/BILLING_DB_PASSWORD` holds the database
password. The environment wins over a file; a missing folder is ignored.
"""

import os
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource,
                               SettingsConfigDict)

SECRETS_DIR_VARIABLE = "BILLING_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/run/secrets"


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", env_file_encoding="utf-8",
                              extra="ignore", env_nested_delimiter="__")


def secrets_dir() -> Path | None:
    """The folder of secret files, if it exists (read when settings are made, not at import)."""
    folder = Path(os.environ.get(SECRETS_DIR_VARIABLE) or DEFAULT_SECRETS_DIR)
    return folder if folder.is_dir() else None


class _Settings(BaseSettings):
    """Environment, then `.env`, then files in the secrets folder."""

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        folder = secrets_dir()
        files = (SecretsSettingsSource(settings_cls, secrets_dir=folder),) if folder else ()
        return init_settings, env_settings, dotenv_settings, *files


class KafkaSettings(_Settings):
    """How to reach the Kafka cluster (`BILLING_KAFKA_*`)."""

    model_config = _config("BILLING_KAFKA_")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Transport security towards the brokers.")
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*.")
    sasl_username: str | None = Field(None, description="This service's Kafka principal.")
    sasl_password: SecretStr | None = Field(None, description="That principal's password.")
    ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    ssl_certfile: Path | None = Field(None, description="Client certificate for mutual TLS.")
    ssl_keyfile: Path | None = Field(None, description="Client key for mutual TLS.")
    max_message_bytes: int = Field(
        64 * 1024, description="Input values larger than this go to the DLQ as too_large.")
    busy_fetch_max_wait_ms: int = Field(
        50, ge=0, description="How long the broker may hold a fetch of a busy stream's consumer (statuses, "
        "priced usage: `Topic.busy`) while it has nothing new; the other topics keep aiokafka's 500 ms.")


class DatabaseSettings(_Settings):
    """How to reach PostgreSQL (`BILLING_DB_*`)."""

    model_config = _config("BILLING_DB_")

    host: str = Field("127.0.0.1", description="Server host, or the directory of its Unix socket (a path "
                      "starting with /: no TCP on the way, which costs less CPU per query on the same machine).")
    port: int = Field(55432, description="Server port (the local stack's default).")
    name: str = Field("billing", description="Database; each service owns one schema in it.")
    user: str = Field("billing", description="Role the service logs in as.")
    password: SecretStr = Field(SecretStr("billing-local"), description="That role's password.")
    pool_min: int = Field(1, description="Connections kept open.")
    pool_max: int = Field(8, description="Upper bound of the pool.")
    command_timeout_s: float = Field(
        30.0, description="Per-statement timeout; without one a connection can hang after a server crash.")

    def dsn(self) -> str:
        """A libpq URI with the password in clear: pass it to a driver, never to a log."""
        return (f"postgresql://{quote(self.user, safe='')}:{quote(self.password.get_secret_value(), safe='')}"
                f"@{self.host}:{self.port}/{self.name}")


class ServiceSettings(_Settings):
    """What every service has: its Kafka and database parts, HTTP probes and logging."""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka connection.")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings, description="PostgreSQL connection.")
    http_host: str = Field("127.0.0.1", description="Bind address of /health/* and /metrics.")
    http_port: int = Field(8080, description="Port of /health/* and /metrics.")
    log_level: str = Field("INFO", description="Lowest level logged.")
    log_json: bool | None = Field(None, description="JSON logs; by default JSON unless on a terminal.")
    batch_max_records: int = Field(500, description="Most records handled in one batch.")
    batch_timeout_ms: int = Field(100, description="Longest wait to fill a batch.")
    lag_interval_s: float = Field(
        15.0, description="How often the consumer group's lag is measured for /metrics (0 turns it off).")
    log_usage: bool = Field(
        True, description="Log the ids of charged messages (usage ingest) and debits (balance), per balance "
        "and batch; the counters stay when off.")


class UsageIngestSettings(ServiceSettings):
    """The usage ingest service (`BILLING_USAGE_INGEST_*`)."""

    model_config = _config("BILLING_USAGE_INGEST_")

    http_port: int = Field(8081, description="Port of /health/* and /metrics.")
    group_id: str = Field("billing-usage-ingest", description="Kafka consumer group.")
    hold_s: float = Field(
        3600.0, description="How long a ready message whose channel is unknown, or that no rate card "
        "prices, is held before its statuses go to the DLQ (unknown_channel, no_rate).")
    sweep_interval_s: float = Field(
        5.0, description="How often held messages are re-checked against the directory and rate cards.")
    participant_key: SecretStr = Field(
        SecretStr("billing-local-participant-key"),
        description="Secret of the keyed hash (HMAC-SHA256) that names a group participant without its "
        "number. The same in every instance, and never changed while statuses of a message can still "
        "arrive (docs/decisions.md); the default is the local stack's.")


class BalanceSettings(ServiceSettings):
    """The balance service (`BILLING_BALANCE_*`)."""

    model_config = _config("BILLING_BALANCE_")

    http_port: int = Field(8082, description="Port of /health/* and /metrics.")
    group_id: str = Field("billing-balance", description="Kafka consumer group.")
    hold_s: float = Field(
        600.0, description="How long a payment for an account the directory has not shown yet is held "
        "before it goes to the DLQ as unknown_account.")
    sweep_interval_s: float = Field(5.0, description="How often held payments are retried.")


class SellerSettings(BaseModel):
    """The company that issues the invoices, as EN 16931 and §14 UStG want it on every document
    (`BILLING_INVOICING_SELLER__*`, or the whole part as JSON in `BILLING_INVOICING_SELLER`).

    Nothing has a default: the invoicing service refuses to start while a field is missing
    (services/invoicing/documents/seller.py names it). The local stack and the tests set a fictional
    German seller (`EXAMPLE_SELLER` there)."""

    name: str | None = Field(None, description="Legal name, e.g. `Example Messaging GmbH`.")
    street: str | None = Field(None, description="Street and number.")
    postcode: str | None = Field(None, description="Postal code.")
    city: str | None = Field(None, description="City.")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 country, e.g. `DE`.")
    vat_id: str | None = Field(None, description="VAT id (USt-IdNr.), e.g. `DE123456789`.")
    tax_number: str | None = Field(None, description="Tax number (Steuernummer) at the tax office.")
    commercial_register: str | None = Field(None, description="Commercial register entry, e.g. `Amtsgericht Berlin "
                                 "(Charlottenburg), HRB 123456 B`.")
    register_id: str | None = Field(None, description="The register number alone (BT-30), e.g. `HRB 123456 B`.")
    managing_directors: str | None = Field(None, description="Managing directors (Geschäftsführer), as printed.")
    contact_name: str | None = Field(None, description="Who answers questions about invoices.")
    contact_phone: str | None = Field(None, description="Their phone number.")
    contact_email: str | None = Field(None, description="Their e-mail; also the seller's electronic address.")
    bank_name: str | None = Field(None, description="The bank of the account invoices are paid to.")
    iban: str | None = Field(None, description="IBAN of that account.")
    bic: str | None = Field(None, description="BIC of that bank.")
    payment_terms_days: int | None = Field(None, description="Days after issue an invoice is due.")


class InvoicingSettings(ServiceSettings):
    """The invoicing service (`BILLING_INVOICING_*`)."""

    model_config = _config("BILLING_INVOICING_")

    http_port: int = Field(8083, description="Port of /health/* and /metrics.")
    group_id: str = Field("billing-invoicing", description="Kafka consumer group.")
    close_grace_period_s: float = Field(
        6 * 3600.0, description="How long after a month's end it is closed without a command.")
    auto_close: bool = Field(True, description="Close each month by itself after the grace period.")
    close_check_interval_s: float = Field(1.0, description="How often pending closes check their barrier.")
    ingest_group_id: str = Field(
        "billing-usage-ingest", description="Usage ingest's consumer group: a close waits until it has "
        "consumed every status published before the close.")
    balance_group_id: str = Field(
        "billing-balance", description="Balance's consumer group: a close waits until it has debited "
        "that usage and taken the payments published before the close.")
    seller: SellerSettings = Field(default_factory=SellerSettings, description="The seller on every document.")
    documents_interval_s: float = Field(
        1.0, description="How often invoices still without documents are looked for.")
    documents_batch: int = Field(20, description="Invoices made into documents per transaction.")
    documents_workers: int = Field(
        2, description="Processes that render PDFs (CPU-bound: at most the cores the service may use; 0 renders "
        "in a thread of the service).")
    hold_s: float = Field(
        3600.0, description="How long an invoice.credit naming an invoice not recorded yet (a restore replaying "
        "the commands) is held before it goes to the DLQ as unknown_invoice; 0 refuses it at once.")


class PortalSettings(ServiceSettings):
    """The portal and its HTTP API (`BILLING_PORTAL_*`)."""

    model_config = _config("BILLING_PORTAL_")

    http_port: int = Field(8084, description="Port of the API (/v1), the pages, /health/* and /metrics.")
    group_id: str = Field("billing-portal", description="Kafka consumer group of the read model.")
    link_secret: SecretStr = Field(
        SecretStr("billing-local-portal-link-secret"),
        description="Signs sign-in links and session cookies; set a long random one in production.")
    link_ttl_s: int = Field(900, description="How long a sign-in link can be used.")
    session_ttl_s: int = Field(12 * 3600, description="How long a signed-in browser session lasts.")
    public_url: str = Field("", description="The portal's address in sign-in links (default: http://<host>:<port>).")
    key_cache_s: float = Field(
        5.0, description="How long an API key's owner is remembered in memory: a revoked key stops working "
        "within this time.")
    as_of_interval_s: float = Field(0.25, description="How often the read model's time (as_of) is refreshed.")
    max_record_bytes: int = Field(
        8 * 1024 * 1024, description="Largest record the read model takes: invoice documents carry whole PDFs "
        "and a large partner's invoice can exceed the 64 KiB limit of the services' inputs.")
    low_days: int = Field(7, description="Finance lists a balance as low when the forecast reaches zero within "
                          "this many days, or it is below its auto-renewal threshold.")
    cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only (set behind TLS).")
