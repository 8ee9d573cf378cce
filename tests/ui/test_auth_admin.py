"""The Compliance tabs' login as the issue attacked it: an attacker's failures never lock the
real officer out, sprays are throttled, every failure, lockout, login, logout and timeout is in
the audit trail, and an idle session ends. Real Gradio handlers, a real audit log."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from advisor.chain import Advisor, build_advisor
from advisor.records.audit import AuditLog
from advisor.records.auth import LoginThrottle, hash_password
from advisor.services.users import Login, LoginResult
from advisor.ui.admin import AdminTabs
from advisor.ui.pages.evaluation import EvalFolders
from advisor.ui.render.admin import login_message
from tests.conftest import REPO, RULES, TEST_CORPUS, make_settings
from tests.fakes import HashEmbeddings

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def alice() -> str:
    return "alice:" + hash_password(PASSWORD, iterations=200_000)


@pytest.fixture
def audit(tmp_path: Path):
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()


def attempt(login: Login, name: str, password: str, source: str) -> tuple[str | None, str]:
    """(user or None, the message the form shows)."""
    result: LoginResult = login.attempt(name, password, source)
    return result.user, login_message(result)


def events(audit: AuditLog) -> list[tuple[str, str | None, dict]]:
    return [
        (r["event"], r["user"], r["detail"]) for r in audit.export_rows() if r["kind"] == "event"
    ]


def test_an_attacker_cannot_lock_the_officer_out(alice: str, audit: AuditLog) -> None:
    """Before: five wrong passwords from anywhere refused alice's real password for 300 s."""
    login = Login(SimpleNamespace(admin_users=alice), audit, LoginThrottle())  # type: ignore[arg-type]
    for _ in range(4):
        user, message = attempt(login, "alice", "guess", "203.0.113.9")
        assert user is None and message == "⚠️ Wrong user name or password."
    user, message = attempt(login, "alice", "guess", "203.0.113.9")
    assert user is None and "try again in 30 s" in message
    user, message = attempt(login, "alice", PASSWORD, "203.0.113.9")
    assert user is None and "Too many failed attempts" in message  # the attacker's address waits
    assert attempt(login, "alice", PASSWORD, "10.0.0.5") == ("alice", "")
    recorded = events(audit)
    assert [e[0] for e in recorded] == ["login_failed"] * 5 + ["login_locked", "login"]
    assert recorded[0] == ("login_failed", None, {"user": "alice", "source": "203.0.113.9"})
    assert recorded[5][2] == {
        "user": "alice",
        "source": "203.0.113.9",
        "scope": "user",
        "seconds": 30.0,
        "failures": 5,
    }
    assert recorded[6] == ("login", "alice", {"source": "10.0.0.5"})
    assert audit.verify().ok


def test_a_spray_across_user_names_is_throttled(alice: str, audit: AuditLog) -> None:
    settings = SimpleNamespace(admin_users=alice)
    throttle = LoginThrottle()
    login = Login(settings, audit, throttle)  # type: ignore[arg-type]
    messages = [attempt(login, f"user{n}", "Winter2025!", "198.51.100.7")[1] for n in range(10)]
    assert all(m == "⚠️ Wrong user name or password." for m in messages[:9])
    assert "Too many failed attempts" in messages[9]
    assert "Too many failed attempts" in attempt(login, "alice", PASSWORD, "198.51.100.7")[1]
    unaudited = Login(settings, None, throttle)  # type: ignore[arg-type]
    assert attempt(unaudited, "alice", PASSWORD, "10.0.0.5")[0] == "alice"
    locked = [e for e in events(audit) if e[0] == "login_locked"]
    assert len(locked) == 1 and locked[0][2]["scope"] == "source"


@pytest.fixture
def advisor(tmp_path: Path, alice: str) -> Advisor:
    shutil.copytree(TEST_CORPUS, tmp_path / "corpus")
    shutil.copytree(RULES, tmp_path / "rules")
    shutil.copyfile(
        REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv",
        tmp_path / "csl.csv",
    )
    settings = make_settings(
        tmp_path,
        corpus_dir=tmp_path / "corpus",
        rules_dir=tmp_path / "rules",
        screening_path=tmp_path / "csl.csv",
        admin_users=alice,
        admin_idle_minutes=0.02,  # 1.2 s
    )
    return build_advisor(settings, embeddings=HashEmbeddings())


def client_request(host: str):
    """What Gradio hands a handler for a browser at ``host``."""
    import gradio as gr
    from starlette.requests import Request

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "client": (host, 5123)}
    return gr.Request(request=Request(scope))


def test_tab_handlers_pass_the_address_and_end_idle_sessions(
    advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    import gradio as gr
    from gradio.helpers import special_args

    with gr.Blocks():
        tabs = AdminTabs(advisor, audit, EvalFolders(tmp_path, tmp_path / "reports", tmp_path))
        tabs.build()
        tabs.wire()
    session, on_list = tabs.session, tabs.documents.on_list
    on_login, on_logout = session.on_login, session.on_logout

    # Gradio's own injection finds the request parameter and fills it in.
    args, *_ = special_args(on_login, ["alice", PASSWORD], request=client_request("10.0.0.5"))
    token = on_login(*args)[session.token]
    assert isinstance(token, str) and len(token) >= 40 and token != "alice"
    assert on_list(token)  # active
    time.sleep(0.5)
    assert on_list(token)  # activity keeps it alive
    time.sleep(1.3)
    with pytest.raises(gr.Error, match="idle for"):
        on_list(token)
    with pytest.raises(gr.Error, match="Log in first"):
        on_list(token)  # ended for good, and a forged token is no better
    with pytest.raises(gr.Error, match="Log in first"):
        on_list("alice")

    args, *_ = special_args(on_login, ["alice", "wrong"], request=client_request("203.0.113.9"))
    assert on_login(*args)[session.token] is None
    args, *_ = special_args(on_login, ["alice", PASSWORD], request=client_request("10.0.0.5"))
    token = on_login(*args)[session.token]
    on_logout(token)
    with pytest.raises(gr.Error, match="Log in first"):
        on_list(token)

    recorded = events(audit)
    assert [e[0] for e in recorded] == [
        "login",
        "session_expired",
        "login_failed",
        "login",
        "logout",
    ]
    assert recorded[0][2] == {"source": "10.0.0.5"}
    assert recorded[1][1] == "alice" and "idle for 1.2 s" in recorded[1][2]["reason"]
    assert recorded[2][2] == {"user": "alice", "source": "203.0.113.9"}
    assert recorded[4] == ("logout", "alice", {"source": "10.0.0.5"})
    assert audit.verify().ok
