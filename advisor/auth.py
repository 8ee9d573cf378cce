"""Users and passwords for the compliance tabs (and, optionally, the chat).

Passwords are never stored: only ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` strings,
made with ``advisor users hash`` and given in ``ADVISOR_ADMIN_USERS`` ("alice:<hash>,bob:<hash>")
or a YAML users file (``ADVISOR_USERS_FILE``, a mapping of user name to hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import AdvisorError

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256; ~0.2 s per check here
MIN_ITERATIONS = 200_000
MAX_ITERATIONS = 10_000_000  # a typo with more digits would make every login hang
SALT_BYTES = 16
MIN_PASSWORD_CHARS = 8
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
HOW_TO_CONFIGURE = (
    "Create a password hash with `advisor users hash --user NAME` and set "
    "`ADVISOR_ADMIN_USERS=NAME:<hash>` (several users separated by commas), or list "
    "`NAME: <hash>` lines in a YAML file named by `ADVISOR_USERS_FILE`; then restart the app."
)


class UsersConfigError(AdvisorError):
    """The users configuration cannot be used; the message says which entry and why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    """A salted PBKDF2-SHA256 hash in the one format ``load_users`` accepts."""
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"at least {MIN_ITERATIONS} iterations are required")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest); raises ValueError saying what is wrong with the string."""
    parts = encoded.strip().split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        raise ValueError(f"expected {ALGORITHM}$<iterations>$<salt>$<hash>")
    if not parts[1].isdigit():
        raise ValueError("the iteration count is not a number")
    iterations = int(parts[1])
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"{iterations} iterations is too few (minimum {MIN_ITERATIONS}); re-hash")
    if iterations > MAX_ITERATIONS:
        raise ValueError(f"{iterations} iterations is too many (maximum {MAX_ITERATIONS})")
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the salt or hash is not base64") from exc
    if len(salt) < 8 or len(digest) != 32:
        raise ValueError("the salt or hash has the wrong length")
    return iterations, salt, digest


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Unknown users are checked against this, so a wrong name costs the same time as a wrong
    password and response times do not reveal which user names exist."""
    return hash_password(secrets.token_hex(16))


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time comparison of the password's PBKDF2 digest with the stored one."""
    try:
        iterations, salt, expected = parse_hash(encoded)
    except ValueError:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def check_login(users: dict[str, str], name: str | None, password: str | None) -> bool:
    """True when ``name`` is a configured user and ``password`` is theirs."""
    stored = users.get((name or "").strip())
    ok = verify_password(password or "", stored or _dummy_hash())
    return ok and stored is not None


def _check_entry(name: Any, encoded: Any, where: str) -> tuple[str, str]:
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise UsersConfigError(
            f"{where}: user name {name!r} must be 1-64 letters, digits or . _ @ -"
        )
    if not isinstance(encoded, str):
        raise UsersConfigError(f"{where}: user {name!r}: the hash must be text")
    try:
        parse_hash(encoded)
    except ValueError as exc:
        raise UsersConfigError(
            f"{where}: user {name!r}: not a password hash made by `advisor users hash` ({exc})"
        ) from exc
    return name, encoded.strip()


def parse_users_string(text: str, where: str = "ADVISOR_ADMIN_USERS") -> dict[str, str]:
    """``alice:<hash>,bob:<hash>``: hashes hold no ``:`` or ``,``, so the split is exact."""
    users: dict[str, str] = {}
    for number, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        name, sep, encoded = entry.partition(":")
        if not sep:
            raise UsersConfigError(f"{where}, entry {number}: expected name:<hash>")
        name, encoded = _check_entry(name.strip(), encoded, f"{where}, entry {number}")
        if name in users:
            raise UsersConfigError(f"{where}: user {name!r} is listed twice")
        users[name] = encoded
    return users


def parse_users_file(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsersConfigError(f"{path}: users file cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise UsersConfigError(f"{path}: users file is not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsersConfigError(f"{path}: expected a mapping of user name: <hash>")
    return dict(_check_entry(name, encoded, str(path)) for name, encoded in data.items())


def _setting(settings: Any, field: str, env: str) -> Any:
    """The Settings field when it exists, else the environment variable of the same name."""
    return getattr(settings, field, None) or os.environ.get(env) or None


def load_users(settings: Any) -> dict[str, str]:
    """Every configured user and their hash; {} when none are configured.

    Both sources may be used at once; a user defined in both is an error rather than a guess.
    """
    users: dict[str, str] = {}
    users_file = _setting(settings, "users_file", "ADVISOR_USERS_FILE")
    if users_file:
        path = Path(users_file).expanduser()
        if not path.is_file():
            raise UsersConfigError(f"ADVISOR_USERS_FILE={users_file}: no such file")
        users.update(parse_users_file(path))
    text = _setting(settings, "admin_users", "ADVISOR_ADMIN_USERS")
    if text:
        for name, encoded in parse_users_string(str(text)).items():
            if name in users:
                raise UsersConfigError(
                    f"user {name!r} is defined in both ADVISOR_ADMIN_USERS and the users file"
                )
            users[name] = encoded
    return users


def chat_requires_login(settings: Any) -> bool:
    value = _setting(settings, "chat_requires_login", "ADVISOR_CHAT_REQUIRES_LOGIN")
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class LoginThrottle:
    """Slows password guessing: after ``limit`` failures a name is locked for ``window`` s."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked(self, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < self.window]
            self._failures[name] = recent
            return len(recent) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            self._failures.setdefault(name, []).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def gradio_auth(settings: Any) -> Callable[[str, str], bool] | None:
    """``launch(auth=...)`` for the whole app when the chat requires login, else None."""
    if not chat_requires_login(settings):
        return None
    users = load_users(settings)
    if not users:
        raise UsersConfigError(
            "the chat requires login but no users are configured. " + HOW_TO_CONFIGURE
        )
    throttle = LoginThrottle()

    def auth(name: str, password: str) -> bool:
        if throttle.locked(name):
            return False
        ok = check_login(users, name, password)
        (throttle.succeeded if ok else throttle.failed)(name)
        return ok

    return auth
