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
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

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


@dataclass(frozen=True)
class Lockout:
    """A lockout that a failed login just started: whose, why and for how long."""

    scope: Literal["user", "source"]  # this user from this address, or every user from it
    seconds: float
    failures: int


@dataclass
class _Strikes:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Slows password guessing without letting anyone lock a real user out.

    Failures count per (user name, source address): after ``limit`` of them that pair is
    locked for ``window`` seconds, and each further failure after a lockout doubles it (up to
    ``max_lockout``). The same user from another address is not affected. One address that
    fails for ``spray_users`` different names within ``spray_window`` seconds is locked for
    all names, with the same backoff. Failures are forgotten ``forget`` seconds after the last.
    """

    def __init__(
        self,
        limit: int = 5,
        window: float = 30.0,
        *,
        max_lockout: float = 3600.0,
        spray_users: int = 10,
        spray_window: float = 600.0,
        forget: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.limit, self.window, self.max_lockout = limit, window, max_lockout
        self.spray_users, self.spray_window, self.forget = spray_users, spray_window, forget
        self._clock = clock
        self._max_entries = max_entries
        self._pairs: dict[tuple[str, str], _Strikes] = {}
        self._sources: dict[str, _Strikes] = {}
        self._names: dict[str, dict[str, float]] = {}  # source -> name -> last failure
        self._lock = threading.Lock()

    def retry_after(self, name: str, source: str | None = None) -> float:
        """Seconds until this user may try again from this source; 0 when they may now."""
        now, src = self._clock(), source or "unknown"
        with self._lock:
            pair = self._pairs.get((name, src))
            whole = self._sources.get(src)
            until = max(pair.locked_until if pair else 0.0, whole.locked_until if whole else 0.0)
        return max(0.0, until - now)

    def locked(self, name: str, source: str | None = None) -> bool:
        return self.retry_after(name, source) > 0

    def failed(self, name: str, source: str | None = None) -> Lockout | None:
        """Count a wrong password; returns the lockout it started, if any."""
        now, src = self._clock(), source or "unknown"
        with self._lock:
            self._prune(now)
            pair = self._strike(self._pairs, (name, src), now)
            names = self._names.setdefault(src, {})
            names[name] = now
            for old in [n for n, t in names.items() if now - t > self.spray_window]:
                del names[old]
            if len(names) >= self.spray_users:
                names.clear()
                whole = self._strike(self._sources, src, now)
                return self._lock_out(whole, "source", 1, now)
            return self._lock_out(pair, "user", self.limit, now)

    def succeeded(self, name: str, source: str | None = None) -> None:
        with self._lock:
            self._pairs.pop((name, source or "unknown"), None)

    def _strike(self, table: dict[Any, _Strikes], key: Any, now: float) -> _Strikes:
        entry = table.get(key)
        if entry is None or now - entry.last > self.forget:
            entry = table[key] = _Strikes()
        entry.failures += 1
        entry.last = now
        return entry

    def _lock_out(self, entry: _Strikes, scope: Literal["user", "source"], after: int, now: float):
        if entry.failures < after:
            return None
        seconds = min(self.max_lockout, self.window * 2 ** min(entry.failures - after, 30))
        entry.locked_until = now + seconds
        return Lockout(scope, seconds, entry.failures)

    def _prune(self, now: float) -> None:
        """Bound memory: a flood of made-up names or addresses cannot grow the tables forever.

        Entries not locked right now are dropped (their counts start again); locks stay.
        """
        if len(self._pairs) + len(self._names) < self._max_entries:
            return
        self._pairs = {k: e for k, e in self._pairs.items() if e.locked_until > now}
        self._sources = {k: e for k, e in self._sources.items() if e.locked_until > now}
        self._names.clear()


@dataclass
class Session:
    user: str
    source: str | None
    started: float
    seen: float


class AdminSessions:
    """Server-side admin sessions: a random token per login, ended by logout, by ``idle``
    seconds without activity, or ``max_age`` seconds after the login, whichever comes first."""

    def __init__(
        self, idle: float, max_age: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle, self.max_age, self._clock = idle, max_age, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: str, source: str | None) -> str:
        now = self._clock()
        token = secrets.token_urlsafe(32)
        with self._lock:
            for old in [t for t, s in self._sessions.items() if self._ended(s, now)]:
                del self._sessions[old]
            self._sessions[token] = Session(user, source, now, now)
        return token

    def check(self, token: str | None) -> tuple[Session | None, str | None]:
        """(session, None) for an active session, touching it; (ended session, why) when it
        just timed out; (None, None) when the token is unknown."""
        if not token:
            return None, None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None, None
            why = self._ended(session, now)
            if why is not None:
                del self._sessions[token]
                return session, why
            session.seen = now
            return session, None

    def close(self, token: str | None) -> Session | None:
        with self._lock:
            return self._sessions.pop(token, None) if token else None

    def _ended(self, session: Session, now: float) -> str | None:
        if now - session.started >= self.max_age:
            return f"the session reached its {_duration(self.max_age)} limit"
        if now - session.seen >= self.idle:
            return f"the session was idle for {_duration(self.idle)}"
        return None


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def wait_text(seconds: float) -> str:
    """A lockout's remaining time as a person reads it, rounded up."""
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"
    return f"{math.ceil(seconds / 60)} min"


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
        # Gradio's login route does not hand the client address to this callback, so these
        # failures count per user name only (still with backoff, never a fixed 300 s).
        if throttle.locked(name):
            return False
        ok = check_login(users, name, password)
        if ok:
            throttle.succeeded(name)
        else:
            throttle.failed(name)
        return ok

    return auth
