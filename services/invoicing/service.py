"""The invoicing use cases: prepayments, licenses on channel.added, and the month close (credit notes:
`credits.py`).

Every invoice is recorded and queued (outbox) in the transaction that allocates
its number, so crashes and retries leave no gap and no repeat; its id is
derived from what it bills, so one issued twice would be the same invoice,
and a trigger processed twice issues nothing new.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from shared.contracts import (BalanceClosing, ChannelAdded, ChannelCancelled, ClientUpserted, LedgerClose,
                              LedgerClosed, LedgerEntry, PartnerUpserted, Recipient, encode)
from shared.dead_letters import Accepted, Rejected
from shared.logging import get_logger
from shared.months import month_of, month_start, next_month, previous_month
from shared.outbox import OutboxRecord
from shared.topics import (BALANCE_CREDITS, DIRECTORY, LEDGER_CLOSE, MESSAGE_STATUS, PAYMENTS, RATECARDS,
                           USAGE_PRICED)

from .documents.model import address_from
from .domain.directory import Channel, Client, Partner
from .domain.documents import (closing_lines, compose, has_activity, invoice_id, prepayment_line,
                               summary_of)
from .domain.recurring import Due, existed_during, license_due, license_line, plan_due
from .ports import Close, InvoiceStore, Offsets, UnitOfWork

log = get_logger(__name__)


async def issue(store: InvoiceStore, *, key: tuple[str, ...], kind: str, partner: Partner, recipient: Recipient,
                period: str, now: datetime, lines: list, dues: Sequence[Due] = (),
                client_id: str | None = None, channel_id: str | None = None, summary=None) -> bool:
    """Issue one invoice unless it exists; mark what it bills as billed."""
    iid = invoice_id(*key)
    if await store.has_invoice(iid):
        return False
    invoice = compose(invoice_id=iid, number=await store.next_number(now.year), kind=kind,
                      billing_model=partner.billing_model, recipient=recipient, partner_id=partner.partner_id,
                      period=period, issued_at=now, currency=partner.currency, lines=lines,
                      client_id=client_id, channel_id=channel_id, summary=summary)
    await store.save_invoice(invoice)
    if dues:
        await store.mark_billed([(d.item, d.subject_id, d.month) for d in dues], iid)
    return True


def _client_recipient(client: Client | None, channel: Channel, partner: Partner) -> Recipient:
    if client is not None:
        return client.recipient()
    return _unknown_client(channel.client_id, partner)


def _unknown_client(client_id: str, partner: Partner) -> Recipient:
    # The client's upsert has not been seen: bill the client at its partner's address.
    log.warning("client unknown; invoicing it at its partner's address", client_id=client_id)
    return Recipient(type="client", id=client_id, name=client_id, country=partner.country, vat_id=None)


async def apply_directory(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """Keep the directory; bill a Direct-Paid channel's start month as soon as it is added."""
    async with uow() as store:
        for a in accepted:
            event = a.message
            if isinstance(event, PartnerUpserted):
                known = await store.partner(event.partner_id)
                if known is None or (known.billing_model, known.currency) == (event.billing_model, event.currency):
                    await store.upsert_partner(event)
                    await store.save_address("partner", event.partner_id,
                                             address_from(event.billing_address.model_extra or {}))
            elif isinstance(event, ClientUpserted):
                await store.upsert_client(event)
                await store.save_address("client", event.client_id,
                                         address_from(event.billing_address.model_extra or {}))
            elif isinstance(event, ChannelAdded):
                await store.upsert_channel(event)
                await _license_prorated(store, event.channel_id, now)
            elif isinstance(event, ChannelCancelled):
                await store.cancel_channel(event)
    return []


async def _license_prorated(store: InvoiceStore, channel_id: str, now: datetime) -> None:
    channel = await store.channel(channel_id)
    partner = await store.partner(channel.partner_id) if channel else None
    if channel is None or partner is None or partner.billing_model != "direct_paid":
        return
    start = month_of(channel.billing_started_at)
    if ("license", channel_id, start) in await store.billed():
        return
    due = license_line(channel, start)
    recipient = _client_recipient(await store.client(channel.client_id), channel, partner)
    await issue(store, key=("license_prorated", channel_id, start), kind="license_prorated", partner=partner,
                recipient=recipient, period=start, now=now, lines=[due.line], dues=[due],
                client_id=channel.client_id, channel_id=channel_id)


async def apply_ledger_entries(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """One prepayment invoice per payment the ledger accepted."""
    async with uow() as store:
        for a in accepted:
            entry: LedgerEntry = a.message
            if entry.kind != "payment":
                continue
            partner = await store.partner(entry.partner_id)
            if partner is None:
                raise LookupError(f"partner {entry.partner_id} of payment {entry.entry_id} is not known yet")
            if entry.channel_id:
                # A Direct-Paid channel's payment is the client's, even when this directory lags the ledger's.
                channel = await store.channel(entry.channel_id)
                client_id = entry.client_id or (channel.client_id if channel else None)
                client = await store.client(client_id) if client_id else None
                recipient = (client.recipient() if client else
                             _unknown_client(client_id, partner) if client_id else partner.recipient())
            else:
                recipient = partner.recipient()
            await issue(store, key=("prepayment", entry.entry_id), kind="prepayment", partner=partner,
                        recipient=recipient, period=month_of(entry.occurred_at), now=now,
                        lines=[prepayment_line(entry)], client_id=entry.client_id, channel_id=entry.channel_id)
    return []


async def request_month(store: InvoiceStore, offsets: Offsets, month: str, command_id: str) -> None:
    """Record a month close and its barrier: the end of the statuses and payments topics now, which is
    after the command was published. Months close in order: after the latest month closed or closing,
    every month up to `month`; closing a closed month, or one being closed, does nothing."""
    latest = await store.latest_close()
    if latest is not None and month <= latest:
        log.info("month already closed or closing", month=month, command_id=command_id)
        return
    statuses = await offsets.end_offsets(MESSAGE_STATUS.name)
    payments = await offsets.end_offsets(PAYMENTS.name)
    directory = await offsets.end_offsets(DIRECTORY.name)
    ratecards = await offsets.end_offsets(RATECARDS.name)
    m = next_month(latest) if latest is not None else month
    while m <= month:
        await store.request_close(Close(m, command_id, "barrier", statuses, payments, None, directory, ratecards))
        m = next_month(m)


async def auto_close(uow: UnitOfWork, offsets: Offsets, now: datetime, grace_s: float) -> None:
    """Close the previous month once it has ended and the grace period has passed."""
    if (now - month_start(month_of(now))).total_seconds() < grace_s:
        return
    previous = previous_month(month_of(now))
    async with uow() as store:
        await request_month(store, offsets, previous, f"auto-close-{previous}")


def _caught_up(committed: dict[int, int], target: dict[int, int]) -> bool:
    return all(committed.get(p, 0) >= end for p, end in target.items() if end > 0)


async def _read_up_to(offsets: Offsets, group: str, *targets: tuple[str, dict[int, int]]) -> bool:
    """Has `group` committed each topic up to its target?"""
    for topic, target in targets:
        if not _caught_up(await offsets.committed(group, topic), target):
            return False
    return True


async def advance_closes(uow: UnitOfWork, offsets: Offsets, ingest_group: str, balance_group: str,
                         now: datetime) -> None:
    """Move each pending close along its barrier: statuses priced, priced usage and payments debited,
    then ask the ledger to close the month (its answer issues the invoices); once every invoice of the
    close has its documents, the close is done."""
    async with uow() as store:
        for close in await store.closes():
            if close.state == "documents":
                # Its invoices are issued: the next month may close meanwhile (its invoices come after these).
                waiting = await store.documents_pending(close.month)
                if waiting:
                    log.debug("close waits for documents", month=close.month, invoices=waiting)
                else:
                    await store.update_close(close.month, "done", done_at=now)
                    log.info("month closed", month=close.month, command_id=close.command_id)
                continue
            if close.state == "barrier":
                # A status held because its channel or rate card was read after it is settled when usage
                # ingest reads them: the directory and rate cards up to the request count as well.
                if not await _read_up_to(offsets, ingest_group, (MESSAGE_STATUS.name, close.status_offsets),
                                         (DIRECTORY.name, close.directory_offsets),
                                         (RATECARDS.name, close.ratecard_offsets)):
                    return
                # Credit notes issued before the close are in invoicing's own outbox until published: once
                # it has none left, the end of the balance credits covers them.
                if await store.outbox_pending(BALANCE_CREDITS.name):
                    return
                priced = await offsets.end_offsets(USAGE_PRICED.name)
                credits = await offsets.end_offsets(BALANCE_CREDITS.name)
                await store.update_close(close.month, "debits", priced, credit_offsets=credits)
                close = replace(close, state="debits", priced_offsets=priced, credit_offsets=credits)
            if close.state == "debits":
                # Likewise a payment held because its balance was opened by a later directory record.
                if not await _read_up_to(offsets, balance_group, (USAGE_PRICED.name, close.priced_offsets or {}),
                                         (PAYMENTS.name, close.payment_offsets),
                                         (DIRECTORY.name, close.directory_offsets),
                                         (BALANCE_CREDITS.name, close.credit_offsets)):
                    return
                command = LedgerClose(type="ledger.close", close_id=close.command_id, month=close.month,
                                      barrier={USAGE_PRICED.name: close.priced_offsets or {},
                                               PAYMENTS.name: close.payment_offsets,
                                               DIRECTORY.name: close.directory_offsets,
                                               BALANCE_CREDITS.name: close.credit_offsets or {}})
                await store.emit([OutboxRecord(LEDGER_CLOSE.name, close.month.encode(), encode(command))])
                await store.update_close(close.month, "ledger")
            return  # one month at a time, in order


async def apply_ledger_closed(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """Keep each balance's closing; when a close's answer is complete, issue the month's invoices."""
    async with uow() as store:
        for a in accepted:
            message = a.message
            if isinstance(message, BalanceClosing):
                await store.save_closings([message])
            elif isinstance(message, LedgerClosed):
                # Ours, and complete: the marker comes after its closings on the one partition.
                waiting = await store.waiting_close(message.month)
                closings = await store.closings(message.month)
                if waiting == message.close_id and len(closings) >= message.balances:
                    await issue_month(store, message.month, closings, now)
                    # Done once every one of its invoices has its documents (issue_documents.py).
                    await store.update_close(message.month, "documents")
    return []


async def issue_month(store: InvoiceStore, month: str, closings: dict[str, BalanceClosing], now: datetime) -> int:
    """Every invoice of closing `month` (§4.3), in a fixed order; returns how many were issued."""
    partners, channels, clients = await store.directory()
    billed = await store.billed()
    by_partner: dict[str, list[Channel]] = {}
    for c in sorted(channels, key=lambda c: c.channel_id):
        by_partner.setdefault(c.partner_id, []).append(c)
    following = next_month(month)
    issued = 0
    for p in sorted(partners, key=lambda p: p.partner_id):
        if not existed_during(p, month):
            continue
        mine = by_partner.get(p.partner_id, [])
        plan = [d for d in plan_due(p, month) if (d.item, d.subject_id, d.month) not in billed]
        if p.billing_model == "partner_paid":
            licenses = [d for c in mine for d in license_due(c, month)
                        if (d.item, d.subject_id, d.month) not in billed]
            dues = plan + licenses
            if dues:
                issued += await issue(store, key=("subscription", p.partner_id, following), kind="subscription",
                                      partner=p, recipient=p.recipient(), period=following, now=now,
                                      lines=[d.line for d in dues], dues=dues)
            closing = closings.get(p.partner_id)
            issued += await issue(store, key=("month_closing", p.partner_id, month), kind="month_closing",
                                  partner=p, recipient=p.recipient(), period=month, now=now,
                                  lines=closing_lines(closing, month), summary=summary_of(closing))
            continue
        if plan:
            issued += await issue(store, key=("partner_plan", p.partner_id, following), kind="partner_plan",
                                  partner=p, recipient=p.recipient(), period=following, now=now,
                                  lines=[d.line for d in plan], dues=plan)
        for c in mine:
            recipient = _client_recipient(clients.get(c.client_id), c, p)
            dues = [d for d in license_due(c, month) if (d.item, d.subject_id, d.month) not in billed]
            if dues:
                issued += await issue(store, key=("license", c.channel_id, following), kind="license",
                                      partner=p, recipient=recipient, period=following, now=now,
                                      lines=[d.line for d in dues], dues=dues, client_id=c.client_id,
                                      channel_id=c.channel_id)
            closing = closings.get(c.channel_id)
            if has_activity(closing):
                issued += await issue(store, key=("month_closing", c.channel_id, month), kind="month_closing",
                                      partner=p, recipient=recipient, period=month, now=now,
                                      lines=closing_lines(closing, month), summary=summary_of(closing),
                                      client_id=c.client_id, channel_id=c.channel_id)
    log.info("month's invoices issued", month=month, invoices=issued)
    return issued
