"""Vocabularies the KB is pinned to: OncoTree (tumour types), HGNC (genes), and the record of
which release of each a KB uses.

Owns: loading and fetching vocabulary files, the in-memory tumour tree, gene look-ups.

May import: `kb.model`, `kb.errors`.
"""
