"""The `kb` command line.

Owns: parsing arguments, prompting for passwords, printing text or JSON, exit codes. May import
every other kb package; nothing in kb imports it. `kb.cli.main` is the entry point and imports
the command modules (`knowledge`, `review`, `importing`, `release`); they share only
`kb.cli.context`.
"""
