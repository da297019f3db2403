"""Errors a user sees. Each carries a message that says what went wrong and where."""

from __future__ import annotations


class KbError(Exception):
    """A user-facing failure: the CLI prints its message on one line and exits 1."""


class NotFoundError(KbError):
    pass


class VocabularyError(KbError):
    """A vocabulary file or download that cannot be read; nothing was changed."""


class SchemaError(KbError):
    """The database schema cannot be used by this version of the app."""
