"""The audit log's head, kept outside its database.

Whoever can write the database can delete its last records, or all of them, and what is left
is still a valid chain. After every append the head (sequence number and keyed hash) is written
to an anchor file, atomically and only ever forward; ``verify`` compares the log with it and
``advisor audit anchor`` prints it for the office's own records.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.errors import StoreError
from advisor.records.keys import mac

ANCHOR_FILE = "audit-anchor.json"


class Anchor(BaseModel):
    """The head of the chain at one moment; ``mac`` proves it was written with the audit key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    store: str
    seq: int
    hash: str
    written_at: str
    mac: str = ""

    def _body(self) -> bytes:
        fields = self.model_dump(exclude={"mac"})
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def signed(self, key: bytes) -> Anchor:
        return self.model_copy(update={"mac": mac(key, self._body())})

    def valid(self, key: bytes) -> bool:
        return secrets.compare_digest(self.mac, mac(key, self._body()))

    def line(self) -> str:
        """What an office writes down: enough to check the log against later."""
        return f"seq {self.seq} hash {self.hash}"


def new_anchor(store: str, seq: int, head: str) -> Anchor:
    return Anchor(
        store=store,
        seq=seq,
        hash=head,
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in ``path``; None when there is none; StoreError when it is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"the audit anchor {path} cannot be read ({exc.strerror or exc})") from exc
    try:
        return Anchor.model_validate_json(text)
    except ValidationError as exc:
        raise StoreError(
            f"the audit anchor {path} is not an anchor file (corrupted or edited)"
        ) from exc


@contextmanager
def anchor_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """A cross-process lock beside the anchor. Writers hold it from before their database
    transaction until the anchor is written, so the anchor never lags an honest writer's
    commit; ``timeout`` (seconds) raises StoreError instead of waiting for ever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise StoreError(
                        f"the audit anchor {path} is locked by another writer"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def write_anchor(path: Path, anchor: Anchor, key: bytes) -> None:
    """Replace the anchor atomically; the caller holds ``anchor_lock``."""
    _write_atomically(path, anchor.signed(key).model_dump_json(indent=2) + "\n")


def replace_anchor(path: Path, anchor: Anchor, key: bytes) -> None:
    """Replace the anchor whatever it says (``advisor audit anchor --reset``)."""
    with anchor_lock(path):
        write_anchor(path, anchor, key)
