-- Contract 1.1: business portfolios and volume tiers (§3.2, §4.1).

-- The client's Meta business portfolio; NULL: the client is a portfolio of its own.
ALTER TABLE clients ADD COLUMN business_portfolio_id text;

-- Charged messages per (business portfolio, market, category, usage month): the n-th is priced at
-- the band that holds n - 1. Advanced in the transaction that charges the messages, so a message is
-- counted exactly once; `category` is the one whose rate applied (a group message's base category
-- when the card does not list the group category).
CREATE TABLE tier_counts (
    portfolio_id text   NOT NULL,
    market       text   NOT NULL,
    category     text   NOT NULL,
    usage_month  text   NOT NULL,
    charged      bigint NOT NULL CHECK (charged >= 0),
    PRIMARY KEY (portfolio_id, market, category, usage_month)
);
