"""How content changes (DESIGN §3): change sets and their review under the four-eyes rule,
versions and their approvals (each an electronic signature by the approver's own key,
`esign`), diffs, record history, the hash-chained audit trail, users, roles and passwords, and
the derived effects of a change on saved test patients.

May import: `kb.storage`, `kb.validation`, `kb.matching`, `kb.vocab`, `kb.model`, `kb.errors`.
"""
