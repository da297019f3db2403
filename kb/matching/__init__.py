"""The reference matcher (DESIGN §6): a patient profile against a release's snapshot, with an
explanation of every criterion; patients from JSON or MAF.

Reads plain snapshot data, never the database. May import: `kb.model`, `kb.vocab`, `kb.errors`.
Independent of `kb.validation`.
"""
