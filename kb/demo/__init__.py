"""The demo KB: real FDA-approved indications, built exactly as a user's KB is built.

Owns: the loader only. The content is data in `resources/demo/` (records as YAML, vocabulary
subsets in their official formats), imported through `kb.importing` as a change set that a
reviewer approves. May import every kb package but `kb.cli`.
"""
