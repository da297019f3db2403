"""Import (DESIGN §4): spreadsheets and documents become proposed records, previewed against the
KB with every error located, then staged into one change set in one transaction, or nothing.

Owns: reading untrusted files safely (`readers`, `isolation`, `limits`), source adapters
(`template`, `profiles` with `interpretations` for third-party statement tables, `civic` with
`civic_layouts` for CIViC's older exports, `ctml`), the engine that compares and stages, errors
grouped by reason (`report`), candidates for unknown values (`candidates`), the
ClinicalTrials.gov sync, and the one-call service the command line and the app use.

May import: `kb.review`, `kb.storage`, `kb.validation`, `kb.matching`, `kb.vocab`, `kb.model`,
`kb.errors`. Independent of `kb.release`.
"""
