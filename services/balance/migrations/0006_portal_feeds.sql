-- What the portal's read model needs from the ledger (billing.internal.balance-moves.v1) and the
-- top-ups people ask for in it (billing.internal.topup-requests.v1).

-- Grows by one with every transaction that moves the balance: the version of its balance-moved record.
ALTER TABLE balances ADD COLUMN moves bigint NOT NULL DEFAULT 0;

-- Each top-up request is announced once, however often its command is delivered.
CREATE TABLE topup_requests (
    request_id   text PRIMARY KEY,
    owner_id     text NOT NULL REFERENCES balances (owner_id),
    amount       numeric(20, 6) NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT now()
);
