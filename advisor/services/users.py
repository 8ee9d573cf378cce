"""Logging in to the compliance tabs, and the sessions a login opens.

Passwords, the throttle and its backoff, and the session clock live in
``advisor.records.auth``; this service decides what a login attempt means and records every
login, failure, lockout, logout and timeout in the audit trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from advisor.records.auth import (
    AdminSessions,
    LoginThrottle,
    UsersConfigError,
    check_login,
    load_users,
)
from advisor.records.sink import AuditSink
from advisor.services.events import record_event
from advisor.settings import Settings

log = logging.getLogger(__name__)


class UsersProblem(Enum):
    NONE_CONFIGURED = "none-configured"
    INVALID = "invalid"


@dataclass(frozen=True)
class UsersState:
    """Why nobody can log in (``problem``), or None problem when users are configured."""

    problem: UsersProblem | None
    detail: str | None = None  # the configuration error, for INVALID


def users_state(settings: Settings) -> UsersState:
    """Re-read on every call, so an edit to the users file applies at once."""
    try:
        users = load_users(settings)
    except UsersConfigError as exc:
        return UsersState(UsersProblem.INVALID, str(exc))
    return UsersState(None if users else UsersProblem.NONE_CONFIGURED)


class LoginOutcome(Enum):
    SIGNED_IN = "signed-in"
    WRONG = "wrong"  # wrong user name or password
    LOCKED_NOW = "locked-now"  # wrong, and that failure started a lockout
    WAIT = "wait"  # refused before checking: this address is locked out
    NO_USERS = "no-users"
    USERS_INVALID = "users-invalid"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: str | None = None
    seconds: float = 0.0  # how long to wait, for WAIT and LOCKED_NOW
    detail: str | None = None  # the configuration error, for USERS_INVALID


class Login:
    """Checks passwords with a throttle, so guessing is slow and a real user is never locked
    out by someone else's failures (lockouts apply to one user from one address, or to an
    address that tries many names)."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.throttle = throttle or LoginThrottle()

    def attempt(self, name: str, password: str, source: str | None = None) -> LoginResult:
        """``source`` is the client address. Users are re-read on every attempt."""
        try:
            users = load_users(self.settings)
        except UsersConfigError as exc:
            return LoginResult(LoginOutcome.USERS_INVALID, detail=str(exc))
        if not users:
            return LoginResult(LoginOutcome.NO_USERS)
        name = (name or "").strip()[:64]
        wait = self.throttle.retry_after(name, source)
        if wait > 0:
            return LoginResult(LoginOutcome.WAIT, seconds=wait)
        if check_login(users, name, password):
            self.throttle.succeeded(name, source)
            log.info("compliance login: %s from %s", name, source)
            record_event(self.audit, "login", {"source": source}, name)
            return LoginResult(LoginOutcome.SIGNED_IN, user=name)
        lockout = self.throttle.failed(name, source)
        record_event(self.audit, "login_failed", {"user": name, "source": source}, None)
        if lockout is None:
            return LoginResult(LoginOutcome.WRONG)
        detail = {
            "user": name,
            "source": source,
            "scope": lockout.scope,
            "seconds": lockout.seconds,
        }
        record_event(self.audit, "login_locked", {**detail, "failures": lockout.failures}, None)
        log.warning("compliance login locked: %s", detail)
        return LoginResult(LoginOutcome.LOCKED_NOW, seconds=lockout.seconds)


@dataclass(frozen=True)
class SessionCheck:
    """Who a session token belongs to; ``ended`` says why a session just timed out."""

    user: str | None
    ended: str | None = None


class Sessions:
    """Server-side sessions behind the login: a random token per login, ended by logout,
    idleness or age, each end recorded with the user and address."""

    def __init__(self, book: AdminSessions, audit: AuditSink | None = None) -> None:
        self.book = book
        self.audit = audit

    @classmethod
    def from_settings(cls, settings: Settings, audit: AuditSink | None = None) -> Sessions:
        book = AdminSessions(
            idle=float(settings.admin_idle_minutes) * 60,
            max_age=float(settings.admin_session_hours) * 3600,
        )
        return cls(book, audit)

    def open(self, user: str, source: str | None) -> str:
        return self.book.open(user, source)

    def check(self, token: str | None) -> SessionCheck:
        """The session's user (touching it); a session that just timed out is recorded."""
        session, ended = self.book.check(token)
        if session is None:
            return SessionCheck(None)
        if ended is not None:
            detail = {"reason": ended, "source": session.source}
            record_event(self.audit, "session_expired", detail, session.user)
            return SessionCheck(session.user, ended)
        return SessionCheck(session.user)

    def close(self, token: str | None) -> str | None:
        """End the session; returns whose it was (None for an unknown token)."""
        session = self.book.close(token)
        if session is None:
            return None
        record_event(self.audit, "logout", {"source": session.source}, session.user)
        return session.user
