-- The transactional outbox (shared/outbox.py): records to publish, inserted in
-- the same transaction as the change they announce, deleted by the relay once
-- the broker has acknowledged them.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
