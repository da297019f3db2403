"""KB Curator's desktop app (PySide6) over the kb library."""
