"""The portal as a process on the real broker and database, next to the balance service.

Payments move balances in balance; the portal's read model follows them
through billing.internal.balance-moves.v1 and serves them; a top-up asked for
in the API comes back from balance as topup.requested; a key revoked with
the CLI stops working; SIGTERM stops the portal cleanly.
"""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from deploy.stack.settings import PROJECT_ROOT
from shared.topics import BALANCE_EVENTS, DIRECTORY, PAYMENTS
from tests.builders import channel, client, partner

from ..conftest import service_env
from ..kafka_io import collect, publish
from ..processes import ServiceProcess
from ..test_balance import balance_service, payment, until

PREFIX = "BILLING_PORTAL_"


def portal_service(stack, group: str, tmp_path) -> ServiceProcess:
    env = service_env(stack, PREFIX, **{f"{PREFIX}GROUP_ID": group, f"{PREFIX}KEY_CACHE_S": "0",
                                        f"{PREFIX}LAG_INTERVAL_S": "0"})
    return ServiceProcess("services.portal", env, f"{PREFIX}HTTP_PORT", tmp_path / "portal.log")


def cli(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BILLING_DB_HOST": stack.db.host, "BILLING_DB_PORT": str(stack.db.port),
           "BILLING_DB_NAME": stack.db.name, "BILLING_DB_USER": stack.db.user,
           "BILLING_DB_PASSWORD": stack.db.password.get_secret_value()}
    return subprocess.run([str(Path(sys.executable).parent / "billing"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)


def get(portal: ServiceProcess, path: str, key: str, method: str = "GET", body: dict | None = None,
        headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(portal.url(path), method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_balances_follow_the_ledger_and_a_top_up_asked_for_comes_back_as_topup_requested(
        own_database, unique, tmp_path):
    """A partner's payment shows in its balance; its top-up request is announced by balance; a revoked key is 401."""
    stack = own_database
    pp, dp = f"{unique}PA", f"{unique}dPA"
    await publish(stack.bootstrap, DIRECTORY.name, [(k.encode(), json.dumps(v).encode()) for k, v in (
        (pp, partner(pp)), (pp, client(f"{unique}CL", pp)), (pp, channel(f"{unique}CH", f"{unique}CL", pp)),
        (dp, partner(dp, "direct_paid", "USD")), (dp, client(f"{unique}dCL", dp)),
        (dp, channel(f"{unique}dCH", f"{unique}dCL", dp)))])
    with balance_service(stack, f"test-balance-{unique}", tmp_path), \
            portal_service(stack, f"test-portal-{unique}", tmp_path) as portal:
        await publish(stack.bootstrap, PAYMENTS.name, [payment(f"pay-{unique}", {"partner_id": pp}, "42.00")])
        made = cli(stack, "keys", "create", "--partner", pp)
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[-1]
        client_key = cli(stack, "keys", "create", "--client", f"{unique}dCL").stdout.strip().splitlines()[-1]

        async def paid() -> bool:
            return get(portal, f"/v1/balances/{pp}", key)[1].get("amount") == "42.00"

        async def opened() -> bool:  # the directory is read by another subscriber than the balance moves
            return get(portal, f"/v1/balances/{unique}dCH", client_key)[0] == 200

        assert await until(paid, 60), portal.tail()
        assert await until(opened, 60), portal.tail()
        assert get(portal, f"/v1/balances/{pp}", client_key)[0] == 404
        assert get(portal, f"/v1/balances/{unique}dCH", client_key)[1]["state"] == "depleted"

        status, asked = get(portal, f"/v1/balances/{pp}/topup-requests", key, "POST", {"amount": "75.00"},
                            {"Idempotency-Key": "portal-1"})
        assert status == 201, asked
        [event] = await collect(stack.bootstrap, BALANCE_EVENTS.name,
                                lambda r: r.key == pp.encode() and b"topup.requested" in r.value, 1)
        announced = json.loads(event.value)
        assert (announced["request_id"], announced["amount"]) == (asked["request_id"], "75.00")

        revoked = cli(stack, "keys", "revoke", key)
        assert revoked.returncode == 0, revoked.stderr
        assert get(portal, "/v1/balances", key)[0] == 401
        assert cli(stack, "keys", "create", "--partner", pp, "--finance").returncode == 2
        assert portal.terminate() == 0
