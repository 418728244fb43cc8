-- Contract 1.1, volume tiers: the band (its `from`) a usage entry was priced in, NULL when no bands
-- applied. A usage entry's rate is its amount, so the band is all a month's closing needs to break
-- a (channel, category) line down by band.
ALTER TABLE ledger ADD COLUMN tier_from bigint;
