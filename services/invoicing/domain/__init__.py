"""Invoices as pure functions: fees, proration, tax, and which invoice bills what (CONTRACT.md §4.2, §4.3)."""
