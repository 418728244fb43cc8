-- The transactional outbox: a record to publish is inserted in the same
-- transaction as the state change it announces, and a relay publishes it and
-- marks it published. A crash between the two publishes it again with the
-- same key and id, which consumers deduplicate.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          bytea,
    value        bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
