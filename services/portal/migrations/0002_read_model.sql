-- The portal's read model, built only from topics (services/portal/handlers.py); no other
-- service's table is read. Every row names its partner and (where one owns it) its client:
-- row-level security (0003) decides visibility from those two columns.

CREATE TABLE partners (
    partner_id        text PRIMARY KEY,
    client_id         text,                       -- always NULL: the column the visibility rule reads
    name              text NOT NULL,
    billing_model     text NOT NULL,
    currency          text NOT NULL,
    plan              text NOT NULL,
    country           text NOT NULL,
    created_at        timestamptz NOT NULL,
    renewal_enabled   boolean,
    renewal_threshold numeric(20, 6),
    renewal_amount    numeric(20, 6)
);

CREATE TABLE clients (
    client_id  text PRIMARY KEY,
    partner_id text NOT NULL,
    name       text NOT NULL,
    country    text NOT NULL
);
CREATE INDEX clients_partner ON clients (partner_id);

CREATE TABLE channels (
    channel_id         text PRIMARY KEY,
    client_id          text NOT NULL,
    partner_id         text NOT NULL,
    license            text NOT NULL,
    billing_started_at timestamptz NOT NULL,
    cancelled_at       timestamptz,
    renewal_threshold  numeric(20, 6)
);
CREATE INDEX channels_partner ON channels (partner_id);
CREATE INDEX channels_client ON channels (client_id);

-- A balance's amount is the newest balance-moved record's (highest version); one the directory
-- opened and nothing moved yet is at 0, version 0.
CREATE TABLE balances (
    owner_id      text PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('partner', 'channel')),
    partner_id    text NOT NULL,
    client_id     text,
    billing_model text NOT NULL,
    currency      text NOT NULL,
    amount        numeric(20, 6) NOT NULL DEFAULT 0,
    version       bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz
);
CREATE INDEX balances_partner ON balances (partner_id);
CREATE INDEX balances_client ON balances (client_id);

CREATE TABLE usage_days (
    channel_id text NOT NULL,
    day        date NOT NULL,
    category   text NOT NULL,
    partner_id text NOT NULL,
    client_id  text NOT NULL,
    currency   text NOT NULL,
    charged    bigint NOT NULL,
    free       bigint NOT NULL,
    amount     numeric(20, 6) NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (channel_id, day, category)
);
CREATE INDEX usage_days_partner ON usage_days (partner_id, day);
CREATE INDEX usage_days_client ON usage_days (client_id, day);

-- The §3.7 message as it was received (served byte for byte), with what lists filter on.
CREATE TABLE invoices (
    invoice_id     text PRIMARY KEY,
    number         text NOT NULL,
    kind           text NOT NULL,
    partner_id     text NOT NULL,
    client_id      text,                          -- the client it is addressed to or about
    recipient_type text NOT NULL,
    recipient_id   text NOT NULL,
    period         text NOT NULL,
    issued_at      timestamptz NOT NULL,
    currency       text NOT NULL,
    total          numeric(20, 6) NOT NULL,
    body           bytea NOT NULL
);
CREATE INDEX invoices_partner ON invoices (partner_id, issued_at);
CREATE INDEX invoices_client ON invoices (client_id, issued_at);

CREATE TABLE invoice_documents (
    invoice_id text NOT NULL,
    format     text NOT NULL CHECK (format IN ('pdf', 'cii', 'xrechnung')),
    partner_id text NOT NULL,
    client_id  text,
    media_type text NOT NULL,
    filename   text NOT NULL,
    sha256     text NOT NULL,
    content    bytea NOT NULL,
    PRIMARY KEY (invoice_id, format)
);

CREATE TABLE balance_events (
    event_id   text PRIMARY KEY,
    owner_id   text NOT NULL,
    partner_id text,
    client_id  text,
    type       text NOT NULL,
    amount     numeric(20, 6) NOT NULL,
    at         timestamptz NOT NULL,
    request_id text,
    requested  numeric(20, 6)
);
CREATE INDEX balance_events_owner ON balance_events (owner_id, at);
-- Events read before their balance: given their partner and client once it is known.
CREATE INDEX balance_events_unattributed ON balance_events (owner_id) WHERE partner_id IS NULL;

-- Payments and refunds the ledger accepted (billing.internal.ledger-entries.v1).
CREATE TABLE payments (
    kind             text NOT NULL,
    entry_id         text NOT NULL,
    owner_id         text NOT NULL,
    partner_id       text NOT NULL,
    client_id        text,
    amount           numeric(20, 6) NOT NULL,
    method           text,
    occurred_at      timestamptz NOT NULL,
    topup_request_id text,
    PRIMARY KEY (kind, entry_id)
);
CREATE INDEX payments_owner ON payments (owner_id, occurred_at);

-- Top-ups asked for here; the same Idempotency-Key of the same principal is one request.
CREATE TABLE topup_requests (
    request_id      text PRIMARY KEY,
    owner_id        text NOT NULL,
    partner_id      text NOT NULL,
    client_id       text,
    principal       text NOT NULL,
    idempotency_key text NOT NULL,
    amount          numeric(20, 6) NOT NULL,
    currency        text NOT NULL,
    requested_at    timestamptz NOT NULL,
    UNIQUE (principal, idempotency_key)
);

-- A partner's own markup per category, for its re-billing statements.
CREATE TABLE markups (
    partner_id text NOT NULL,
    client_id  text,                              -- always NULL: a partner's own setting
    category   text NOT NULL,
    percent    numeric(9, 4) NOT NULL CHECK (percent >= 0 AND percent <= 1000),
    PRIMARY KEY (partner_id, category)
);

-- Finance only (no partner or client): dead letters by their place, months, reconciliation runs.
CREATE TABLE dead_letters (
    source_topic text NOT NULL,
    partition    int NOT NULL,
    "offset"     bigint NOT NULL,
    code         text NOT NULL,
    dlq_topic    text NOT NULL,
    failed_at    timestamptz NOT NULL,
    partner_id   text,                            -- always NULL: finance sees them
    client_id    text,
    PRIMARY KEY (source_topic, partition, "offset", code)
);

CREATE TABLE months (
    month            text PRIMARY KEY,
    requested_at     timestamptz,                 -- month.close on billing.commands.v1
    ledger_close_at  timestamptz,                 -- ledger.close: invoicing's barrier passed
    ledger_closed_at timestamptz,                 -- ledger.closed: the ledger answered
    balances         int,
    partner_id       text,
    client_id        text
);

CREATE TABLE reconciliation_runs (
    run_id     text PRIMARY KEY,
    ran_at     timestamptz NOT NULL,
    checks     jsonb NOT NULL,
    partner_id text,
    client_id  text
);

-- How far the read model is: the time of the newest record applied, per topic.
CREATE TABLE model_state (
    topic           text PRIMARY KEY,
    latest_event_at timestamptz NOT NULL
);

-- API keys, stored as SHA-256 of the key only; the key itself is shown once when created.
CREATE TABLE api_keys (
    key_id         text PRIMARY KEY,
    key_hash       bytea NOT NULL UNIQUE,
    prefix         text NOT NULL,
    principal_kind text NOT NULL CHECK (principal_kind IN ('partner', 'client', 'finance')),
    principal_id   text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
