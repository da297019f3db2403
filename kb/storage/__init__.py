"""Storage: opening a KB (SQLite or PostgreSQL), migrating it, the unit of work, KB versions and
record revisions, snapshots of any version, and fast read-only rows for list views.

Owns: the engine and sessions (`db`), the KB's identity (`meta`), revisions (`revisions`),
snapshots and canonical JSON (`snapshot`), list rows (`rows`).

May import: `kb.model`, `kb.vocab`, `kb.errors`. Nothing here knows about review, import or
releases.
"""
