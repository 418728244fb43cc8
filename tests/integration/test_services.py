"""Each service starts against the real stack, reports healthy, serves metrics, stops on SIGTERM."""

import re
import time

import pytest

from .conftest import service_env
from .processes import ServiceProcess

SERVICES = [("services.usage_ingest", "BILLING_USAGE_INGEST_"), ("services.balance", "BILLING_BALANCE_"),
            ("services.invoicing", "BILLING_INVOICING_")]


@pytest.mark.parametrize(("module", "prefix"), SERVICES)
def test_a_service_is_live_ready_and_measured_then_stops_cleanly_on_sigterm(
        stack, unique, tmp_path, module, prefix):
    """/health/live and /health/ready answer 200, /metrics is Prometheus text with the group's lag per
    partition, SIGTERM exits 0."""
    group = f"test-{unique}"
    env = service_env(stack, prefix, **{f"{prefix}GROUP_ID": group, f"{prefix}LAG_INTERVAL_S": "1"})
    service = ServiceProcess(module, env, f"{prefix}HTTP_PORT", tmp_path / "service.log").start()
    try:
        assert service.status("/health/live") == 200
        assert service.status("/health/ready") == 200
        assert "# TYPE billing_dead_letters_total counter" in service.get("/metrics")
        deadline = time.monotonic() + 30
        while f'group="{group}"' not in (text := service.get("/metrics")) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert re.search(rf'^billing_consumer_lag{{group="{group}",partition="0",service="[a-z-]+",'
                         r'topic="[a-z.-]+v1"} \d', text, re.M), text
        assert "billing_consumer_lag_measured_timestamp_seconds{" in text
        assert "billing_outbox_pending{" in text
    finally:
        code = service.terminate()
    assert code == 0
    assert service.status("/health/live") is None, "nothing listens after the stop"
    assert "shut down gracefully" in service.tail(200)


def test_a_service_whose_database_is_unreachable_says_so_and_exits(stack, unique, tmp_path):
    """A wrong database port fails start-up with a non-zero exit instead of hanging half-alive."""
    prefix = "BILLING_BALANCE_"
    env = service_env(stack, prefix, BILLING_DB_PORT="1", **{f"{prefix}GROUP_ID": f"test-{unique}"})
    service = ServiceProcess("services.balance", env, f"{prefix}HTTP_PORT", tmp_path / "service.log")
    with pytest.raises(RuntimeError, match="exited"):
        service.start(timeout_s=60)
    assert service.proc is not None and service.proc.returncode != 0
