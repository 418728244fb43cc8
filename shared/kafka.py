"""Kafka plumbing shared by the services: the broker factory and its security settings.

Producers are configured for money: every write waits for all in-sync
replicas (`acks=all`) and is idempotent, so a retry after a lost ack does not
write a record twice.
"""

import ssl

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from .logging import get_logger
from .settings import KafkaSettings

# The producer and consumer settings of every service (and of the benchmark's raw limit, which must
# run with the same ones). Money first: acks=all and idempotence.
# An idempotent producer has one request in flight per broker, so a relay of 2,000 records waits for
# as many round trips as it takes requests: batches of up to 256 KiB per partition (16 KiB by
# default, some 40 statuses) carry a relay in a few requests.
# A request may carry an invoice document's record (shared/topics.py INVOICE_DOCUMENTS, up to 8 MiB).
PRODUCER_OPTIONS: dict[str, object] = {"acks": "all", "enable_idempotence": True, "linger_ms": 5,
                                       "max_batch_size": 256 * 1024, "request_timeout_ms": 30_000,
                                       "max_request_size": 9 * 1024 * 1024}
# A service starts its subscribers one after the other, each joining the group and each join a rebalance
# that completes once every member has heard of it on a heartbeat: every second rather than aiokafka's
# three, a service has all its inputs assigned within a few seconds of starting.
CONSUMER_OPTIONS: dict[str, object] = {"heartbeat_interval_ms": 1000}


def consumer_options(settings: KafkaSettings, busy: bool) -> dict[str, object]:
    """A consumer's options. aiokafka leaves a partition whose fetched records are still being read out
    of its next fetch; the fetch for the others goes on without it, and the broker holds that one up to
    fetch_max_wait_ms (500 by default) while they have nothing new. Once the partition is read, its own
    fetch waits for that one to come back: one hot partition (every debit of one balance) stalled up to
    half a second per megabyte fetched (docs/benchmarks.md). A busy stream is fetched with a short wait;
    the quiet topics keep the default, which costs nothing when idle."""
    return {**CONSUMER_OPTIONS, "fetch_max_wait_ms": settings.busy_fetch_max_wait_ms} if busy else CONSUMER_OPTIONS

_SASL = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512, "PLAIN": SASLPlaintext}


def security_from(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol (None for PLAINTEXT)."""
    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol in ("SSL", "SASL_SSL")
    context = _ssl_context(settings) if use_ssl else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    if not settings.sasl_username or settings.sasl_password is None:
        raise ValueError(f"{protocol} needs BILLING_KAFKA_SASL_USERNAME and BILLING_KAFKA_SASL_PASSWORD")
    return _SASL[settings.sasl_mechanism](
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=use_ssl,
    )


def bootstrap_list(settings: KafkaSettings) -> list[str]:
    """The brokers to bootstrap from: FastStream takes a string as one address, so a cluster is a list."""
    return [host.strip() for host in settings.bootstrap_servers.split(",") if host.strip()]


def client_options(settings: KafkaSettings) -> dict[str, object]:
    """Connection options for a plain aiokafka client (admin, a reader outside FastStream)."""
    return {"bootstrap_servers": bootstrap_list(settings), **parse_security(security_from(settings))}


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
    if settings.ssl_certfile:
        context.load_cert_chain(str(settings.ssl_certfile),
                                str(settings.ssl_keyfile) if settings.ssl_keyfile else None)
    return context


def make_broker(settings: KafkaSettings, client_id: str, registry: CollectorRegistry) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_list(settings),
        client_id=client_id,
        security=security_from(settings),
        **PRODUCER_OPTIONS,  # type: ignore[arg-type]
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=client_id,
                                               metrics_prefix="billing")],
        logger=get_logger(f"{client_id}.kafka"),
        graceful_timeout=30.0,
    )

