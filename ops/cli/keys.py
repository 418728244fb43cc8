"""`billing keys` and `billing portal`: API keys and sign-in links of the portal (CONTRACT.md §6).

Keys are written straight into the portal's schema (`portal.api_keys`), as
the SHA-256 of the key only: a key is not an event other services react to,
and the operator running this already holds the database credentials. The
key is printed once, alone on the last line of the output, and never stored.
A sign-in link is signed with the portal's secret (`BILLING_PORTAL_LINK_SECRET`)
and works for `BILLING_PORTAL_LINK_TTL_S` seconds.
"""

import typer

from services.portal.domain.keys import key_id_of, new_key
from services.portal.domain.links import Signer
from services.portal.domain.principals import Principal
from shared.settings import PortalSettings

from .common import JsonOption, connect, emit_json, err, fail, out, run, settings

app = typer.Typer(help="API keys of the portal: create (shown once) and revoke.", no_args_is_help=True)
portal_app = typer.Typer(help="The portal: short-lived sign-in links.", no_args_is_help=True)

PartnerOpt = typer.Option(None, "--partner", help="A key (or link) for this partner: it sees itself and its clients.")
ClientOpt = typer.Option(None, "--client", help="A key (or link) for this client: it sees its own channels.")
FinanceOpt = typer.Option(False, "--finance", help="A key (or link) for finance: it sees everything.")


def principal_of(partner_id: str | None, client_id: str | None, finance: bool) -> Principal:
    if sum([partner_id is not None, client_id is not None, finance]) != 1:
        fail("name exactly one principal: --partner ID, --client ID or --finance")
    if finance:
        return Principal("finance")
    return Principal("partner", partner_id) if partner_id else Principal("client", client_id)


async def _known(principal: Principal) -> bool:
    if principal.kind == "finance":
        return True
    table, column = ("partners", "partner_id") if principal.kind == "partner" else ("clients", "client_id")
    conn = await connect(settings())
    try:
        return await conn.fetchval(f"SELECT count(*) FROM portal.{table} WHERE {column} = $1", principal.id) > 0
    finally:
        await conn.close()


async def _store(principal: Principal) -> tuple[str, str]:
    key = new_key()
    conn = await connect(settings())
    try:
        await conn.execute(
            "INSERT INTO portal.api_keys (key_id, key_hash, prefix, principal_kind, principal_id) "
            "VALUES ($1, $2, $3, $4, $5)", key.key_id, key.hash, key.key[:len("wab_live_key_") + 4],
            principal.kind, principal.id)
    finally:
        await conn.close()
    return key.key_id, key.key


@app.command()
def create(partner_id: str = PartnerOpt, client_id: str = ClientOpt, finance: bool = FinanceOpt,
           as_json: bool = JsonOption) -> None:
    """Create an API key; it is printed once, alone on the last line."""
    principal = principal_of(partner_id, client_id, finance)
    if not run(_known(principal)):
        err.print(f"[yellow]warning:[/] the portal has not seen {principal.label} in the directory yet; the key "
                  "works once it has", highlight=False)
    key_id, key = run(_store(principal))
    if as_json:
        emit_json({"key_id": key_id, "principal": principal.label, "key": key})
        return
    out.print(f"[green]✓[/] API key {key_id} for {principal.label}. Store it now: it is not shown again.",
              highlight=False)
    print(key)


async def _revoke(key_id: str) -> str | None:
    conn = await connect(settings())
    try:
        return await conn.fetchval(
            "UPDATE portal.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 "
            "RETURNING principal_kind || coalesce(':' || principal_id, '')", key_id)
    finally:
        await conn.close()


@app.command()
def revoke(key: str = typer.Argument(..., metavar="KEY", help="The key itself, or its id (key_…)."),
           as_json: bool = JsonOption) -> None:
    """Revoke an API key (by the key or its id); requests with it answer 401 from then on."""
    key_id = key_id_of(key.strip())
    if key_id is None:
        fail("KEY must be an API key (wab_live_…) or a key id (key_ followed by 12 hex digits)")
    owner = run(_revoke(key_id))
    if owner is None:
        fail(f"no API key {key_id}", code=1)
    if as_json:
        emit_json({"key_id": key_id, "principal": owner, "revoked": True})
    else:
        out.print(f"[green]✓[/] API key {key_id} of {owner} revoked", highlight=False)


def link_for(principal: Principal, s: PortalSettings | None = None) -> str:
    s = s or PortalSettings()
    base = (s.public_url or f"http://{s.http_host}:{s.http_port}").rstrip("/")
    return f"{base}/signin?token={Signer(s.link_secret.get_secret_value()).link_token(principal)}"


@portal_app.command()
def link(partner_id: str = PartnerOpt, client_id: str = ClientOpt, finance: bool = FinanceOpt) -> None:
    """Print a short-lived signed sign-in link to the portal."""
    principal = principal_of(partner_id, client_id, finance)
    s = PortalSettings()
    out.print(f"Sign-in link for {principal.label}, valid for {s.link_ttl_s // 60} minutes:", highlight=False)
    print(link_for(principal, s))
