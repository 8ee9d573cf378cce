"""Cross-process coordination of index writers, and the counter readers watch for changes.

Embedded Chroma is one process's database: two writers on one data dir corrupt it (the
index then hangs), and a reader keeps its own copy of the vector index in memory. So every
writer holds ``ingest.lock`` in the data dir, and bumps ``index.generation`` after each
committed write; a reader that sees a new generation reopens its client.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError

from advisor.errors import StoreError

LOCK_FILE = "ingest.lock"
OWNER_FILE = "ingest.owner.json"
GENERATION_FILE = "index.generation"


class LockOwner(BaseModel):
    """Who holds the writer lock, so a waiter can say which process it waited for."""

    pid: int
    host: str
    since: str
    action: str


class WriteLock:
    """One index writer at a time across processes; a second one waits, then fails clearly.

    The lock is an ``flock`` held through ``filelock``, so a killed writer releases it with
    its last file descriptor: no stale lock survives a crash. Re-entrant in one thread.
    """

    def __init__(self, data_dir: Path, timeout: float) -> None:
        self.data_dir = data_dir
        self.timeout = timeout
        self._lock = FileLock(data_dir / LOCK_FILE, is_singleton=True)
        self._depth = 0

    @property
    def owner_path(self) -> Path:
        return self.data_dir / OWNER_FILE

    def owner(self) -> LockOwner | None:
        """The recorded holder, or None when nobody recorded one (or the record is torn)."""
        try:
            return LockOwner.model_validate_json(self.owner_path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            return None

    @contextmanager
    def hold(self, action: str) -> Iterator[None]:
        """Hold the lock for ``action``; raises StoreError naming the holder after the wait."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise StoreError(self._busy_message()) from None
        self._depth += 1
        try:
            if self._depth == 1:
                self._write_owner(action)
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                with suppress(OSError):
                    self.owner_path.unlink()
            self._lock.release()

    def _write_owner(self, action: str) -> None:
        owner = LockOwner(
            pid=os.getpid(),
            host=socket.gethostname(),
            since=datetime.now(UTC).isoformat(timespec="seconds"),
            action=action,
        )
        _atomic_write(self.owner_path, owner.model_dump_json())

    def _busy_message(self) -> str:
        owner = self.owner()
        who = (
            f"pid {owner.pid} on {owner.host}, since {owner.since}, {owner.action}"
            if owner
            else "holder unknown"
        )
        return (
            f"another ingest is running ({who}); waited {self.timeout:g} s for it. "
            "Try again when it has finished (or raise ADVISOR_INGEST_LOCK_TIMEOUT)"
        )


class Generation:
    """A counter in the data dir, bumped by the writer after every committed change."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / GENERATION_FILE

    def read(self) -> str:
        """The current value as written (``"0"`` before the first write)."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "0"
        except FileNotFoundError:
            return "0"
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror}") from exc

    def bump(self) -> str:
        """Only call under ``WriteLock``: read, increment and replace atomically."""
        first = self.read().split()[0]
        # The clock part keeps the value new even if the file was deleted and restarted at 1.
        value = f"{int(first) + 1 if first.isdigit() else 1} {time.time_ns()}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.path, value)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc.strerror}") from exc
        return value


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
