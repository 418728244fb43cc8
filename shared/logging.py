"""Structured logging, configured once per process.

structlog renders JSON when stderr is not a terminal (services in production,
CI) and a readable console line when it is. The standard library's loggers
(FastStream, aiokafka, uvicorn, asyncpg) are routed through the same chain,
so every line of a process has one shape.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are personal data (CONTRACT.md §4.1) or secrets: their
# values never reach a log, whoever binds them.
REDACTED_KEYS = frozenset({
    "recipient_id", "recipient", "phone_number", "password", "sasl_password",
    "phone_hash_key", "dsn", "secret", "recipient_participant_id", "participant_key",
})


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in REDACTED_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


_configured = False


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and stdlib logging; later calls are ignored."""
    global _configured
    if _configured:
        return
    _configured = True
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka reports every rebalance step at INFO; keep WARNING and above.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # WeasyPrint reports each step of every page it lays out at INFO (invoice documents, statements).
    logging.getLogger("weasyprint").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None, **bound: Any) -> structlog.stdlib.BoundLogger:
    """A lazy logger: safe at import time, it takes the configuration in force when first used."""
    return structlog.get_logger(name, **bound)
