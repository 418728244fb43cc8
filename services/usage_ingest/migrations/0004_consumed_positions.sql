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
