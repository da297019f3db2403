"""KB Curator's desktop app (PySide6) over the kb library.

curator uses kb, never the other way round. The main window (main_window.py) composes its own
parts (the records and tumour pages, the record pane, the draft dock) and hosts the screens that
screens.py lists: each screen plugs in through the `Host` protocol of extension.py and never
imports the main window; only app.py, which assembles the window, does (import-linter checks).
"""
