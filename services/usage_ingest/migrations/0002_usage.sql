-- Usage ingest's state: its copy of the directory and the rate cards, and what
-- it knows of every message. The recipient's phone number is never stored:
-- only the country it belongs to.

CREATE TABLE partners (
    partner_id    text PRIMARY KEY,
    billing_model text NOT NULL CHECK (billing_model IN ('partner_paid', 'direct_paid')),
    currency      text NOT NULL CHECK (currency IN ('EUR', 'USD')),
    name          text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clients (
    client_id  text PRIMARY KEY,
    partner_id text NOT NULL,
    name       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    channel_id         text PRIMARY KEY,
    client_id          text NOT NULL,
    partner_id         text NOT NULL,
    billing_started_at timestamptz NOT NULL,
    cancelled_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_partner ON channels (partner_id);

-- One card per (currency, effective_from): a card republished for the same day
-- (or under the same id) replaces it for messages priced afterwards; usage
-- already priced never changes. `version` grows with every change, so each
-- instance knows when to reload its in-memory rate book.
CREATE SEQUENCE ratecard_versions;
CREATE TABLE ratecards (
    ratecard_id    text NOT NULL UNIQUE,
    currency       text NOT NULL,
    effective_from date NOT NULL,
    card           jsonb NOT NULL,
    version        bigint NOT NULL DEFAULT nextval('ratecard_versions'),
    PRIMARY KEY (currency, effective_from)
);

CREATE TABLE messages (
    message_id      text PRIMARY KEY,          -- status.id: charged at most once
    channel_id      text NOT NULL,
    outcome         text NOT NULL DEFAULT 'pending'
                    CHECK (outcome IN ('pending', 'charged', 'free', 'failed', 'no_rate', 'unknown_channel')),
    country         text,                      -- of the recipient, from its calling code
    pricing_model   text,
    category        text,
    pricing_type    text,
    billable        boolean,
    conversation_id text,
    delivered_at    timestamptz,               -- the earliest delivery evidence: the billing time
    failed          boolean NOT NULL DEFAULT false,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- CBP: the first charged message of a conversation claims it; later ones are free.
CREATE TABLE conversations (
    conversation_id text PRIMARY KEY,
    message_id      text NOT NULL
);

-- Status records that cannot be settled yet, by their place in Kafka (the
-- payload, which holds the phone number, is not copied here): their channel is
-- not in the directory yet, or no rate card prices them yet. Settled when the
-- directory or the rate cards catch up; dead-lettered with `reason` as the
-- code once held longer than the hold time.
CREATE TABLE held_records (
    topic      text   NOT NULL,
    partition  int    NOT NULL,
    "offset"   bigint NOT NULL,
    key        bytea,
    message_id text   NOT NULL,
    channel_id text   NOT NULL,
    reason     text   NOT NULL CHECK (reason IN ('unknown_channel', 'no_rate')),
    detail     text   NOT NULL,
    held_at    timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX held_records_channel ON held_records (channel_id) WHERE reason = 'unknown_channel';
CREATE INDEX held_records_message ON held_records (message_id);
CREATE INDEX held_records_age ON held_records (held_at);

-- Dead letters of records no longer in hand: a relay re-reads each from Kafka
-- and publishes its envelope, then deletes the row.
CREATE TABLE late_dead_letters (
    topic     text   NOT NULL,
    partition int    NOT NULL,
    "offset"  bigint NOT NULL,
    key       bytea,
    code      text   NOT NULL,
    reason    text   NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);

-- Settled messages counted per channel, usage month and category, free ones too.
CREATE TABLE usage_tally (
    channel_id  text    NOT NULL,
    usage_month text    NOT NULL,
    category    text    NOT NULL,
    charged     boolean NOT NULL,
    messages    bigint  NOT NULL,
    PRIMARY KEY (channel_id, usage_month, category, charged)
);
