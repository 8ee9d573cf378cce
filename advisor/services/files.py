"""Changing the files the running app reads: one lock, atomic writes, one save path.

Rule files and the screening list are read live (re-read when they change), so a save must
never expose half a file, and a file that fails validation must never reach the disk. Every
such save goes through ``save_checked``: validate, write atomically, have the reader take it,
and keep the last good version in force when the reader refuses it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

# One writer at a time: two publishes, or a publish and a sync, must not interleave on the
# index, and a rules save must not race another. Re-entrant, so a service may hold it around
# ``save_checked`` to read its "before" state and record the change under the same lock.
WRITE_LOCK = threading.RLock()


def sha256_bytes(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def read_or_none(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def atomic_write(target: Path, data: bytes) -> None:
    """Readers (the rules engine, the screener) see the old file or the new one, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    # The temporary name ends in .tmp, so the rules engine's *.yaml globs never see it.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder``, judged lexically (no symlink resolution), so a link
    is judged by where it sits, not by where it points."""
    return Path(os.path.abspath(path)).is_relative_to(Path(os.path.abspath(folder)))


def relabel(message: object, mapping: dict[str, str]) -> str:
    """Error messages name temporary copies; show the names the user knows instead."""
    text = str(message)
    for old, new in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return text


class Unchanged(Enum):
    """What a save does when the new content is the file's current content."""

    SKIP = "skip"  # nothing written, nothing reloaded (an edit that changed nothing)
    REWRITE = "rewrite"  # written and reloaded anyway (a re-upload is a deliberate refresh)


class Refused(Enum):
    """What stays on disk when the reader refuses a file that passed validation (another
    file changed between the check and the reload)."""

    KEEP_FILE = "keep-file"  # the saved file stays; the reader serves its last good version
    RESTORE = "restore"  # the previous file is put back


@dataclass(frozen=True)
class Saved(Generic[T]):
    """The facts of one save: what validation returned, the digests, and whether the reader
    took the new file (``error`` says why not; the last good version stays in force)."""

    target: Path
    checked: T
    old_sha256: str | None
    new_sha256: str
    changed: bool
    error: str | None = None

    @property
    def taken(self) -> bool:
        return self.error is None


def save_checked(
    target: Path,
    data: bytes,
    *,
    check: Callable[[], T],
    reload: Callable[[], str | None],
    unchanged: Unchanged,
    refused: Refused,
) -> Saved[T]:
    """Validate, write ``data`` atomically over ``target``, and have the reader take it.

    ``check`` raises (RulesError, InputError) before anything is written, so an invalid file
    leaves the old one and the reader's last good version in force. ``reload`` returns the
    reader's error when it refuses the new file, else None.
    """
    with WRITE_LOCK:
        checked = check()
        old = read_or_none(target)
        new_sha = hashlib.sha256(data).hexdigest()
        if old == data and unchanged is Unchanged.SKIP:
            return Saved(target, checked, sha256_bytes(old), new_sha, changed=False)
        atomic_write(target, data)
        error = reload()
        if error is not None and refused is Refused.RESTORE and old is not None:
            atomic_write(target, old)
        return Saved(target, checked, sha256_bytes(old), new_sha, changed=True, error=error)
