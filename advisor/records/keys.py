"""The secret that keys the audit chain.

A plain SHA-256 chain can be recomputed by anyone who edits the database, so every record's hash
is an HMAC under a key the database does not hold: ``ADVISOR_AUDIT_KEY``, or else a random key
generated once into a 0600 file in the data folder (a deployment should set its own and keep a
copy: without the key the log can still be read but no longer verified).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from pathlib import Path

from advisor.errors import StoreError

log = logging.getLogger("advisor.records.audit")

KEY_FILE = "audit.key"
MIN_KEY_CHARS = 16
_DOMAIN = b"export-advisor audit v2\x00"  # a keyed record hash can never equal a plain one


def mac(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 of a record's canonical bytes, hex."""
    return hmac.new(key, _DOMAIN + data, hashlib.sha256).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: the audit key cannot be read ({exc.strerror or exc})") from exc
    if len(text) < MIN_KEY_CHARS:
        raise StoreError(
            f"{path}: the audit key file is empty or shorter than {MIN_KEY_CHARS} characters; "
            "restore it from your copy (records made with it cannot be verified without it)"
        )
    return text.encode("utf-8")


def _create(path: Path) -> None:
    """Write a new random key to ``path`` unless a racing process wrote one first.

    The key is written to a private temporary file and hard-linked into place, so a reader
    never sees a half-written key and two processes cannot end up with different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return
    finally:
        tmp.unlink()
    log.warning(
        "audit: ADVISOR_AUDIT_KEY is not set, so a random audit key was generated in %s "
        "(mode 0600). A deployment should set its own ADVISOR_AUDIT_KEY (or keep a copy of "
        "this file): without the key the audit log cannot be verified.",
        path,
    )


class AuditKey:
    """Where the key comes from: the setting when given, else the key file (made on first use)."""

    def __init__(self, secret: str | None, file: Path | None) -> None:
        if secret is not None and len(secret.strip()) < MIN_KEY_CHARS:
            raise StoreError(f"ADVISOR_AUDIT_KEY must be at least {MIN_KEY_CHARS} characters")
        self._secret = None if secret is None else secret.strip().encode("utf-8")
        self.file = file
        self._lock = threading.Lock()

    @property
    def source(self) -> str:
        """Where the key is, for messages (never the key itself)."""
        if self._secret is not None:
            return "ADVISOR_AUDIT_KEY"
        return str(self.file) if self.file is not None else "no key configured"

    def get(self, *, create: bool) -> bytes | None:
        """The key; ``create`` makes the key file when there is none (writers only)."""
        if self._secret is not None:
            return self._secret
        if self.file is None:
            return None
        with self._lock:
            key = _read(self.file)
            if key is None and create:
                _create(self.file)
                key = _read(self.file)
            return key
