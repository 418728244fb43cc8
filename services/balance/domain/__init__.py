"""The prepaid ledger's rules (CONTRACT.md §1, §3.4, §3.6, §4.3) as pure functions."""
