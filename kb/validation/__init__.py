"""Validation of KB content over plain record rows, so the same checks serve the main line, an
old version's snapshot or a change set's result.

May import: `kb.model`, `kb.vocab`, `kb.errors`. Independent of `kb.matching`.
"""
