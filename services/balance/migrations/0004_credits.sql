-- Credit notes settled to a balance (billing.internal.balance-credits.v1): a
-- ledger entry of their own kind, under the credit note's id, booked once.
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('usage', 'payment', 'refund', 'credit'));
