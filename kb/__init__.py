"""KB Curator's core library: the precision-oncology knowledge base, without any GUI."""

__version__ = "0.1.0"
