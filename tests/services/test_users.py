"""Logging in to the compliance tabs (advisor.services.users)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from advisor.records.auth import AdminSessions, LoginThrottle, hash_password
from advisor.services.users import (
    Login,
    LoginOutcome,
    Sessions,
    UsersProblem,
    users_state,
)
from advisor.ui.render import admin as render


def _settings(**fields: str) -> Any:
    return SimpleNamespace(**fields)


def test_login_function() -> None:
    encoded = hash_password("correct horse battery", iterations=200_000)
    throttle = LoginThrottle(limit=2, window=60)
    settings = _settings(admin_users=f"alice:{encoded}")
    login = Login(settings, throttle=throttle)
    ok = login.attempt(" alice ", "correct horse battery")
    assert (ok.user, render.login_message(ok)) == ("alice", "")
    wrong = login.attempt("alice", "nope")
    assert (wrong.user, render.login_message(wrong)) == (None, "⚠️ Wrong user name or password.")
    login.attempt("alice", "nope")
    assert "Too many failed attempts" in render.login_message(
        login.attempt("alice", "correct horse battery")
    )
    assert users_state(settings).problem is None
    assert render.users_note(users_state(settings)) is None
    assert "No users are configured" in (render.users_note(users_state(_settings())) or "")
    broken = _settings(admin_users="alice:plaintext")
    assert users_state(broken).problem is UsersProblem.INVALID
    assert "invalid" in (render.users_note(users_state(broken)) or "")
    refused = Login(broken, throttle=throttle).attempt("alice", "plaintext")
    assert refused.user is None and refused.outcome is LoginOutcome.USERS_INVALID
    assert render.login_message(refused).startswith("⚠️ The users configuration is invalid")
    none = Login(_settings()).attempt("alice", "x")
    assert none.outcome is LoginOutcome.NO_USERS
    assert render.login_message(none).startswith("No users are configured.")


def test_sessions_end_and_say_why() -> None:
    now = [0.0]
    sessions = Sessions(AdminSessions(idle=10, max_age=100, clock=lambda: now[0]))
    token = sessions.open("alice", "10.0.0.5")
    assert sessions.check(token).user == "alice" and sessions.check(token).ended is None
    now[0] = 11.0
    expired = sessions.check(token)
    assert expired.user == "alice" and "idle for 10 s" in (expired.ended or "")
    assert sessions.check(token).user is None  # ended for good
    other = sessions.open("alice", "10.0.0.5")
    assert sessions.close(other) == "alice"
    assert sessions.close(other) is None and sessions.check(None).user is None
