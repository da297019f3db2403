"""The domain model (DESIGN §2): what a record is, independent of where it is stored.

Owns: the SQLAlchemy table classes (`orm`), controlled vocabularies as enums (`enums`), records
as plain field dicts with their specs (`records`), identity keys (`identity`), biomarker
expressions (`expression`), threshold metrics and their scales (`metrics`) and HGVS protein
changes (`protein`).

May import: `kb.errors` only. It is the bottom layer: every other kb package may import it.
"""
