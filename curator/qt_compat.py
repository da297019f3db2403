"""Work-arounds for defects of the Qt binding, each detected at run time, not by version.

PySide6 6.12.0: `SignalInstance.emit()` returns `True` without taking a reference to it, so every
signal emitted from Python drops one reference to `True`; on Python 3.11 (where `True` is not
immortal) a long session ends in "Fatal Python error: bool_dealloc". `emit()` here emits and,
where the binding has the defect, gives the reference back. All of curator emits through it.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_drops_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    result: object = probe.ping.emit()  # type: ignore[func-returns-value]
    del result
    dropped = sys.getrefcount(True) < before
    if dropped:
        _incref(True)  # the probe's own lost reference
    return dropped


EMIT_DROPS_A_REFERENCE = _emit_drops_a_reference()


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, safe on bindings whose emit() mis-counts its result."""
    result = signal.emit(*args)
    if EMIT_DROPS_A_REFERENCE and isinstance(result, bool):
        _incref(result)
