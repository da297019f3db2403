"""The demo KB: real FDA-approved indications, built the way a user's KB is built.

Owns: loading the demo content and its accounts. May import every kb package but `kb.cli`.
"""
