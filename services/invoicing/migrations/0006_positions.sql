-- Where each consumer group stands on each partition it reads, written in the
-- transaction of the batch's effects (shared/stored_positions.py). Every
-- partition assignment starts here, so a database restored from a backup
-- replays what it lacks; Kafka's committed offsets are only a hint.
CREATE TABLE consumed_positions (
    group_id    text   NOT NULL,
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,   -- the next record to read
    PRIMARY KEY (group_id, topic, partition)
);

-- How far this service's own publications reach on each partition of the
-- topics it numbers documents on (billing.invoices.v1): moved by the outbox
-- relay in the transaction that deletes what the broker acknowledged, and set
-- to the partitions' ends on the first start. After a restore, every invoice
-- missing from the database lies at or after these offsets
-- (services/invoicing/recovery.py reads them back before issuing anything).
CREATE TABLE published_positions (
    topic        text   NOT NULL,
    partition    int    NOT NULL,
    next_offset  bigint NOT NULL,
    since_offset bigint NOT NULL,  -- where this database's publications start (the reconciliation reads from here)
    PRIMARY KEY (topic, partition)
);

-- Who published a record: the relay puts this database's origin in a header
-- (`billing-origin`) of what it publishes on those topics. Another database
-- writing the same topic (tests share one broker) is told apart, and a
-- database restored from a backup keeps its origin.
CREATE TABLE publisher (
    origin uuid PRIMARY KEY DEFAULT gen_random_uuid()
);
INSERT INTO publisher DEFAULT VALUES;
