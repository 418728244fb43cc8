"""The documents of an invoice or credit note: what a person reads and what a tax office accepts.

`make.make` turns the §3.7 message (as `model.InvoiceData`) and the seller into the documents stored
for it: the PDF/A-3b with the EN 16931 CII embedded, that CII alone, and for recipients in
Germany with a known postal address an XRechnung 3.0 file. Pure apart from reading fonts and
templates: the same input gives the same bytes (docs/invoicing.md, "Documents").
"""
