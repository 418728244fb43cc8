-- Settled messages per channel, UTC day and category, as running totals: the portal's usage per day
-- (billing.internal.usage-days.v1). `version` grows with every batch that adds to a row, so the
-- portal keeps the newest totals whatever order they are relayed in.
CREATE TABLE usage_days (
    channel_id text    NOT NULL,
    day        date    NOT NULL,
    category   text    NOT NULL,
    charged    bigint  NOT NULL,
    free       bigint  NOT NULL,
    amount     numeric(20, 6) NOT NULL,
    version    bigint  NOT NULL DEFAULT 1,
    PRIMARY KEY (channel_id, day, category)
);
