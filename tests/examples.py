"""One value of every message type of CONTRACT.md §3, keyed as the contract says.

The §3 examples as written where the contract has one; the balance events it
only describes are filled in the same style.
"""

from shared.topics import (BALANCE_EVENTS, COMMANDS, DIRECTORY, INVOICES, MESSAGE_STATUS, PAYMENTS,
                           RATECARDS)

STATUS = {
    "channel_id": "acmeCH0001", "waba_id": "102290129340398", "phone_number_id": "106540352242922",
    "received_at": "2026-10-20T10:15:02Z",
    "status": {
        "id": "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBMDQ=", "status": "delivered",
        "timestamp": "1792577700", "recipient_id": "4915112345678",
        "conversation": {"id": "72b14d6bd5407799e66f64d1b338e567", "origin": {"type": "marketing"}},
        "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
    },
}
PARTNER = {"type": "partner.upserted", "partner_id": "acmePA", "name": "Acme Messaging GmbH",
           "billing_model": "partner_paid", "currency": "EUR", "plan": "growth",
           "created_at": "2026-09-01T00:00:00Z",
           "billing_address": {"country": "DE", "vat_id": "DE123456789"},
           "auto_renewal": {"enabled": True, "threshold": "200.00", "amount": "100.00"}}
CLIENT = {"type": "client.upserted", "client_id": "bobCL", "partner_id": "acmePA",
          "name": "Bob's Bikes", "billing_address": {"country": "AT", "vat_id": None}}
CHANNEL_ADDED = {"type": "channel.added", "channel_id": "acmeCH0001", "client_id": "bobCL",
                 "partner_id": "acmePA", "waba_id": "102290129340398",
                 "phone_number_id": "106540352242922", "phone_number": "+43123456789",
                 "license": "regular", "billing_started_at": "2026-10-17T09:30:00Z",
                 "auto_renewal": {"enabled": True, "threshold": "10.00", "amount": "50.00"}}
CHANNEL_CANCELLED = {"type": "channel.cancelled", "channel_id": "acmeCH0001", "partner_id": "acmePA",
                     "cancelled_at": "2026-11-03T12:00:00Z"}
RATECARD = {"ratecard_id": "meta-2026-10-EUR", "currency": "EUR", "effective_from": "2026-10-01",
            "markets": {"DE": "Germany", "AT": "Rest of Western Europe", "FR": "France"},
            "default_market": "Other",
            "rates": [{"market": "Germany", "category": "marketing", "rate": "0.1131"},
                      {"market": "Germany", "category": "utility", "rate": "0.0456"},
                      {"market": "Germany", "category": "authentication", "rate": "0.0636"},
                      {"market": "Other", "category": "marketing", "rate": "0.0604"}]}
PAYMENT_PARTNER = {"type": "payment.succeeded", "payment_id": "pay_7Hq2", "account": {"partner_id": "acmePA"},
                   "amount": "100.00", "currency": "EUR", "method": "card",
                   "paid_at": "2026-10-18T08:00:00Z", "topup_request_id": None}
PAYMENT_CHANNEL = {"type": "payment.succeeded", "payment_id": "pay_9Zk1",
                   "account": {"channel_id": "globexCH0007"}, "amount": "50.00", "currency": "USD",
                   "method": "bank_transfer", "paid_at": "2026-10-18T08:00:00Z",
                   "topup_request_id": "tr_3c9e"}
REFUND = {"type": "refund.succeeded", "refund_id": "ref_11", "account": {"partner_id": "acmePA"},
          "amount": "30.00", "currency": "EUR", "refunded_at": "2026-10-28T08:00:00Z"}
MONTH_CLOSE = {"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}
_EVENT = {"balance": {"partner_id": "acmePA"}, "currency": "EUR", "at": "2026-10-20T10:15:02Z"}
BALANCE_LOW = {"type": "balance.low", "event_id": "ev-1", **_EVENT, "balance_amount": "150.00",
               "threshold": "200.00"}
TOPUP_REQUESTED = {"type": "topup.requested", "event_id": "ev-2", **_EVENT, "balance_amount": "150.00",
                   "request_id": "tr_3c9e", "amount": "100.00"}
BALANCE_DEPLETED = {"type": "balance.depleted", "event_id": "ev-3", **_EVENT, "balance_amount": "-0.1131",
                    "channel_ids": ["acmeCH0001", "acmeCH0002"]}
BALANCE_RESTORED = {"type": "balance.restored", "event_id": "ev-4", **_EVENT, "balance_amount": "99.8869",
                    "channel_ids": ["acmeCH0001", "acmeCH0002"]}
INVOICE = {
    "invoice_id": "5b0c2f0e-0000-4000-8000-000000000042", "number": "INV-2026-000042",
    "kind": "subscription", "billing_model": "partner_paid",
    "recipient": {"type": "partner", "id": "acmePA", "name": "Acme Messaging GmbH", "country": "DE",
                  "vat_id": "DE123456789"},
    "partner_id": "acmePA", "client_id": None, "channel_id": None, "period": "2026-11",
    "issued_at": "2026-11-01T00:00:07Z", "currency": "EUR",
    "lines": [
        {"code": "partner_plan", "description": "Partner plan Growth, 2026-11", "quantity": "1",
         "unit_price": "500.00", "amount": "500.00", "service_month": "2026-11", "client_id": None,
         "channel_id": None},
        {"code": "license", "description": "License regular, acmeCH0001, 2026-11", "quantity": "1",
         "unit_price": "25.00", "amount": "25.00", "service_month": "2026-11", "client_id": "bobCL",
         "channel_id": "acmeCH0001"},
    ],
    "subtotal": "525.00", "tax": {"treatment": "standard", "rate": "0.19", "amount": "99.75"},
    "total": "624.75", "summary": None,
}
INVOICE_CREDIT = {"type": "invoice.credit", "command_id": "cred-77", "invoice_id": INVOICE["invoice_id"],
                  "lines": [{"line": 1, "amount": "25.00"}], "reason": "licence billed twice",
                  "settle": "credit_balance"}
CREDIT_NOTE = {
    **INVOICE, "invoice_id": "7c1d2f0e-0000-4000-8000-000000000001", "number": "CN-2026-000001",
    "kind": "credit_note", "issued_at": "2026-11-20T10:00:00Z", "lines": [INVOICE["lines"][1]],
    "subtotal": "25.00", "tax": {"treatment": "standard", "rate": "0.19", "amount": "4.75"}, "total": "29.75",
    "corrects": {"invoice_id": INVOICE["invoice_id"], "number": INVOICE["number"]},
    "reason": "licence billed twice", "settle": "credit_balance",
}
DEAD_LETTER = {"error": {"code": "schema_invalid", "message": "status.timestamp: field required"},
               "source": {"topic": "wa.message-status.v1", "partition": 3, "offset": 18872,
                          "key": "acmeCH0001"},
               "payload": "{}", "failed_at": "2026-10-20T10:15:03Z"}

# (topic, key, value) for every message type.
EVERY_MESSAGE_TYPE = [
    (MESSAGE_STATUS.name, "acmeCH0001", STATUS),
    (DIRECTORY.name, "acmePA", PARTNER),
    (DIRECTORY.name, "acmePA", CLIENT),
    (DIRECTORY.name, "acmePA", CHANNEL_ADDED),
    (DIRECTORY.name, "acmePA", CHANNEL_CANCELLED),
    (RATECARDS.name, "EUR", RATECARD),
    (PAYMENTS.name, "acmePA", PAYMENT_PARTNER),
    (PAYMENTS.name, "globexCH0007", PAYMENT_CHANNEL),
    (PAYMENTS.name, "acmePA", REFUND),
    (COMMANDS.name, "2026-10", MONTH_CLOSE),
    (COMMANDS.name, "2026-11", INVOICE_CREDIT),
    (BALANCE_EVENTS.name, "acmePA", BALANCE_LOW),
    (BALANCE_EVENTS.name, "acmePA", TOPUP_REQUESTED),
    (BALANCE_EVENTS.name, "acmePA", BALANCE_DEPLETED),
    (BALANCE_EVENTS.name, "acmePA", BALANCE_RESTORED),
    (INVOICES.name, "acmePA", INVOICE),
    (INVOICES.name, "acmePA", CREDIT_NOTE),
    (MESSAGE_STATUS.dlq, "acmeCH0001", DEAD_LETTER),
]
