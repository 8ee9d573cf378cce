"""A value read from files and read again when they change, keeping the last good version.

The rules engine and the screener both serve data that an officer may edit while the app runs.
An edit must take effect without a restart, and a broken edit must never leave the app without
rules or a list: the previous value stays in force and ``last_error`` says why, until a fixed
file is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from advisor.errors import RulesError

T = TypeVar("T")
# (file name, mtime in ns, size) per file: cheap to take on every question, and a change of
# content always changes at least one of them when a file is replaced or rewritten.
FileStamp = tuple[tuple[str, int, int], ...]


def files_stamp(files: Callable[[], Iterable[Path]]) -> FileStamp | None:
    """The stamp of the files ``files()`` names; None when they cannot be listed or stat'ed
    (a file removed while it was being looked at), which counts as a change next time."""
    try:
        return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files())
    except (OSError, RulesError):
        return None


class Watched(Generic[T]):
    """``load()`` once now (its errors propagate: there is no good version yet), then again
    whenever ``stamp()`` changes.

    A reload that raises one of ``errors`` keeps the previous value and sets ``last_error``;
    the next good reload clears it. ``on_reload`` runs after a new value is taken and
    ``on_error`` after a failed reload (for logging), both under the lock, so concurrent
    callers never load the same change twice.
    """

    def __init__(
        self,
        load: Callable[[], T],
        stamp: Callable[[], object],
        *,
        errors: tuple[type[Exception], ...] = (RulesError,),
        on_reload: Callable[[T], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self._load = load
        self._stamp_of = stamp
        self._errors = errors
        self._on_reload = on_reload
        self._on_error = on_error
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.stamp = stamp()  # taken before loading: a change during the load is seen next time
        self.value: T = load()

    def refresh(self) -> bool:
        """Reload when the stamp changed; True when a new value was taken."""
        stamp = self._stamp_of()
        if stamp == self.stamp:
            return False
        with self._lock:
            if stamp == self.stamp:  # another caller took this change while we waited
                return False
            self.stamp = stamp
            return self._take()

    def reload(self) -> bool:
        """Load now, changed or not (after writing a file, to report at once whether it was
        taken); True when a new value was taken."""
        with self._lock:
            return self._take()

    def _take(self) -> bool:
        try:
            value = self._load()
        except self._errors as exc:
            self.last_error = str(exc)
            if self._on_error is not None:
                self._on_error(exc)
            return False
        self.value = value
        self.last_error = None
        if self._on_reload is not None:
            self._on_reload(value)
        return True
