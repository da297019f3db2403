"""Progress reporting and cancellation for long imports, without Qt (DESIGN §1).

The app's worker adapts these to signals; the command line draws a bar. Work checks the token
between batches, so a cancel takes effect within one batch and leaves nothing half-written (the
caller's transaction rolls back).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator

from kb.errors import KbError

# Called with (rows done, rows in total); total is 0 while it is not yet known.
Progress = Callable[[int, int], None]


class Cancelled(KbError):
    """The user cancelled; nothing was written."""


class CancelToken:
    """A flag another thread may set; `check()` raises `Cancelled` once it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if the work should stop."""
        if self._event.is_set():
            raise Cancelled("import cancelled; nothing was changed")


def no_progress(done: int, total: int) -> None:
    """The default progress callback: reports nowhere."""
    del done, total


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large import builds its plain data.

    Hundreds of thousands of small, long-lived objects (cells, rows, dicts) make each
    collection walk all of them, again and again: the collector then costs as much as the work
    (measured: a 20,000-row preview runs twice as fast without it). Nothing an import makes
    needs collecting meanwhile. The collector is paused for the whole process, so keep the
    block free of yields; the previous state is restored at the end.

    What the block made is then handed to the oldest generation as it stands: left young, the
    first collection after the block walked all of it (a third of a second after a 100k-row
    preview) only to find it alive. It stays collectable: the next full collection, which the
    collector schedules as usual, looks at it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Only after a block that left many objects young (a small one is cheap to walk,
            # and its young garbage is better collected young); never thawing what someone
            # else froze. freeze() and unfreeze() splice the generations' lists: no object is
            # visited.
            if gc.get_count()[0] > _MANY_YOUNG and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# Objects left young by a paused block above which they are handed to the oldest generation.
_MANY_YOUNG = 100_000
