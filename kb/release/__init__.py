"""Signed releases (DESIGN §5): cutting one from an approved KB version, building the release
folder (kb.json, schema, tables, xlsx, CTML, typed changes), signing with Ed25519 under a trust
root, and verifying offline; pinning approvers' keys to that root (`signers`) and anchoring
the audit chain outside the database in releases and signed checkpoints (`anchors`).

May import: `kb.review`, `kb.storage`, `kb.validation`, `kb.model`, `kb.errors`. Independent of
`kb.importing`. Verification (`folder.verify_release`, `signing`) needs no database.
"""
