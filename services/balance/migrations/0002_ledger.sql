-- The prepaid ledger. Every movement is an immutable entry under its business
-- id; a balance's amount is the projection of its entries, kept in the same
-- transaction (the reconciliation checks amount = Σ entries for each balance).

CREATE TABLE partners (
    partner_id        text PRIMARY KEY,
    billing_model     text NOT NULL CHECK (billing_model IN ('partner_paid', 'direct_paid')),
    currency          text NOT NULL CHECK (currency IN ('EUR', 'USD')),
    renewal_enabled   boolean,
    renewal_threshold numeric(20, 6),
    renewal_amount    numeric(20, 6),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    channel_id        text PRIMARY KEY,
    partner_id        text NOT NULL,
    client_id         text NOT NULL,
    renewal_enabled   boolean,
    renewal_threshold numeric(20, 6),
    renewal_amount    numeric(20, 6),
    cancelled_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_partner ON channels (partner_id);

CREATE TABLE balances (
    owner_id           text PRIMARY KEY,           -- the partner (Partner-Paid) or the channel (Direct-Paid)
    kind               text NOT NULL CHECK (kind IN ('partner', 'channel')),
    partner_id         text NOT NULL,
    client_id          text,
    billing_model      text NOT NULL,
    currency           text NOT NULL,
    amount             numeric(20, 6) NOT NULL DEFAULT 0,
    topup_request_id   text,                        -- requested and not paid yet
    topup_requested_at timestamptz,
    events_issued      bigint NOT NULL DEFAULT 0,   -- names the next event id
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger (
    entry_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('usage', 'payment', 'refund')),
    business_id      text NOT NULL,                 -- status.id, payment_id or refund_id
    owner_id         text NOT NULL REFERENCES balances (owner_id),
    amount           numeric(20, 6) NOT NULL,       -- signed: credits positive, debits negative
    occurred_at      timestamptz NOT NULL,          -- billing time, paid_at or refunded_at
    own_month        text NOT NULL,                 -- the month of occurred_at
    booked_month     text NOT NULL,                 -- own_month, or the earliest open month (§4.3)
    channel_id       text,
    client_id        text,
    category         text,
    method           text,
    topup_request_id text,
    written_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, business_id)
);
CREATE INDEX ledger_booked ON ledger (booked_month, owner_id);
CREATE INDEX ledger_owner ON ledger (owner_id);

-- Booking months close in order; movements lock this row shared, a close exclusively.
CREATE TABLE ledger_state (
    id          int PRIMARY KEY CHECK (id = 1),
    last_closed text
);
INSERT INTO ledger_state VALUES (1, NULL);

-- What each closed month held for each balance, as published (re-published if asked again).
CREATE TABLE closings (
    month    text NOT NULL,
    owner_id text NOT NULL,
    closing  jsonb NOT NULL,
    PRIMARY KEY (month, owner_id)
);

-- Payments and refunds for accounts the directory has not shown yet.
CREATE TABLE held_payments (
    topic     text   NOT NULL,
    partition int    NOT NULL,
    "offset"  bigint NOT NULL,
    key       bytea,
    value     bytea  NOT NULL,
    held_at   timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
