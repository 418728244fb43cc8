-- Invoicing's state: its copy of the directory, what was billed, the invoices
-- with their gapless numbers, month closes and the ledger's closings.

CREATE TABLE partners (
    partner_id    text PRIMARY KEY,
    name          text NOT NULL,
    billing_model text NOT NULL,
    currency      text NOT NULL,
    plan          text NOT NULL,
    created_at    timestamptz NOT NULL,
    country       text NOT NULL,
    vat_id        text
);

CREATE TABLE clients (
    client_id  text PRIMARY KEY,
    partner_id text NOT NULL,
    name       text NOT NULL,
    country    text NOT NULL,
    vat_id     text
);

CREATE TABLE channels (
    channel_id         text PRIMARY KEY,
    partner_id         text NOT NULL,
    client_id          text NOT NULL,
    license            text NOT NULL,
    billing_started_at timestamptz NOT NULL,
    cancelled_at       timestamptz
);
CREATE INDEX channels_partner ON channels (partner_id);

-- Each (channel, month) license and (partner, month) plan is billed once.
CREATE TABLE billed (
    item       text NOT NULL CHECK (item IN ('license', 'plan')),
    subject_id text NOT NULL,
    month      text NOT NULL,
    invoice_id uuid NOT NULL,
    PRIMARY KEY (item, subject_id, month)
);

-- One sequence per year, moved in the transaction that records the invoice:
-- a rollback takes the number back with the invoice, so there is no gap.
CREATE TABLE invoice_numbers (
    year int PRIMARY KEY,
    last int NOT NULL
);

CREATE TABLE invoices (
    invoice_id   uuid PRIMARY KEY,          -- derived from what it bills: the same invoice, the same id
    number       text NOT NULL UNIQUE,
    kind         text NOT NULL,
    recipient_id text NOT NULL,
    partner_id   text NOT NULL,
    period       text NOT NULL,
    issued_at    timestamptz NOT NULL,
    invoice      jsonb NOT NULL
);
CREATE INDEX invoices_recipient ON invoices (recipient_id, period);

CREATE TABLE closes (
    month           text PRIMARY KEY,
    command_id      text NOT NULL,
    state           text NOT NULL CHECK (state IN ('barrier', 'debits', 'ledger', 'done')),
    status_offsets  jsonb NOT NULL,           -- partition → end offset when the close was asked
    payment_offsets jsonb NOT NULL,
    priced_offsets  jsonb,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz
);

CREATE TABLE ledger_closings (
    month    text NOT NULL,
    owner_id text NOT NULL,
    closing  jsonb NOT NULL,
    PRIMARY KEY (month, owner_id)
);
