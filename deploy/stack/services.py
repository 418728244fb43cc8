"""The four services as background processes of the local stack."""

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.settings import BalanceSettings, InvoicingSettings, PortalSettings, ServiceSettings, UsageIngestSettings
from services.invoicing.documents.seller import example_env

from . import security
from .process import StackError, port_is_open, read_pid, spawn, stop_pid, wait_until
from .settings import PROJECT_ROOT, StackSettings


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    settings: type[ServiceSettings]

    def port(self) -> int:
        return self.settings().http_port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port()}{path}"


SERVICES = (
    Service("usage-ingest", "services.usage_ingest", UsageIngestSettings),
    Service("balance", "services.balance", BalanceSettings),
    Service("invoicing", "services.invoicing", InvoicingSettings),
    Service("portal", "services.portal", PortalSettings),
)


def _pid_file(s: StackSettings, svc: Service) -> Path:
    return s.dir / "run" / f"{svc.name}.pid"


def _env(s: StackSettings, svc: Service) -> dict[str, str]:
    """The services talk to the stack's broker and database unless the caller says otherwise; on a
    secured broker each logs in as its own principal."""
    env = dict(os.environ)
    for name, value in security.client_env(s, svc.name).items():
        env.setdefault(name, value)
    env.setdefault("BILLING_DB_PORT", str(s.pg_port))
    env.setdefault("BILLING_DB_NAME", s.pg_database)
    env.setdefault("BILLING_DB_USER", s.pg_user)
    env.setdefault("BILLING_DB_PASSWORD", s.pg_password.get_secret_value())
    for svc in SERVICES:
        env.setdefault(f"{svc.settings.model_config['env_prefix']}LOG_JSON", "true")
    # The local stack plays demo months in the past (October 2026): closing each past month by
    # itself would close it before the demo's data arrives. Months close on command here.
    env.setdefault("BILLING_INVOICING_AUTO_CLOSE", "false")
    # The local stack issues invoices as a fictional German company unless a seller is configured.
    if not any(k.startswith("BILLING_INVOICING_SELLER") for k in env):
        env.update(example_env())
    return env


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def is_ready(svc: Service) -> bool:
    return http_status(svc.url("/health/ready")) == 200


def start(s: StackSettings, svc: Service) -> None:
    """Start one service unless it runs; wait until its readiness probe answers 200."""
    pid_file = _pid_file(s, svc)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    if read_pid(pid_file) is None:
        if port_is_open(svc.port()):
            raise StackError(f"Port {svc.port()} of {svc.name} is taken by another process. Stop it, "
                             f"or set {svc.settings.model_config['env_prefix']}HTTP_PORT.")
        spawn([sys.executable, "-m", svc.module], s.logs / f"{svc.name}.log", pid_file,
              env=_env(s, svc), cwd=PROJECT_ROOT)
    wait_until(lambda: is_ready(svc), s.start_timeout_s, svc.name,
               alive=lambda: read_pid(pid_file) is not None, log_file=s.logs / f"{svc.name}.log")


def stop(s: StackSettings, svc: Service) -> bool:
    return stop_pid(_pid_file(s, svc), grace_s=40)


def is_running(s: StackSettings, svc: Service) -> bool:
    return read_pid(_pid_file(s, svc)) is not None
