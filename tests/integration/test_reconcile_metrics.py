"""The reconciler serves the reconciliation of the live database as Prometheus metrics."""

import re
import subprocess
import sys
import time
import urllib.request

from deploy.stack.settings import PROJECT_ROOT

from .conftest import free_port, service_env


def test_the_reconciler_serves_one_gauge_per_invariant_and_the_time_of_its_last_run(stack, tmp_path):
    """`python -m ops.reconcile_metrics` runs every interval and /metrics shows each check as 0 or 1."""
    port = free_port()
    env = service_env(stack, "BILLING_RECONCILER_")
    log = tmp_path / "reconciler.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ops.reconcile_metrics", "--port", str(port),
                                 "--host", "127.0.0.1", "--interval", "1"],
                                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        text, deadline = "", time.monotonic() + 60
        # The gauge reads 0.0 until the first run completes (its name alone is on the page from the start).
        while not re.search(r"^billing_reconcile_last_run_timestamp_seconds [1-9]", text, re.M) \
                and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                pass
        checks = re.findall(r'^billing_reconcile_check_ok\{check="([a-z_]+)"\} ([01])\.0$', text, re.M)
        assert len(checks) == 7, log.read_text()[-2000:]  # ops/reconcile.py: seven invariants
        assert "billing_reconcile_run_failures_total 0.0" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
