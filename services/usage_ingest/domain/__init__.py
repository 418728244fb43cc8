"""The charging rules of CONTRACT.md §4.1 as pure functions: no I/O, no clock."""
