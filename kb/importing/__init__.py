"""Spreadsheet and document import: sources become proposed records, previewed, then staged
into one change set (DESIGN §4)."""
