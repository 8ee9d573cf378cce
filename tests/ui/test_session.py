"""The session that locks the admin tabs (advisor.ui.session): what sign-in and sign-out
update, how pages' subscriptions are chained, and how a timed-out session ends."""

from __future__ import annotations

import gradio as gr
import pytest

from advisor.records.audit import AuditLog
from advisor.records.auth import AdminSessions, hash_password
from advisor.services.users import Sessions
from advisor.ui.session import AdminSession, Updates
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def audit(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()


def events(audit: AuditLog) -> list[tuple[str, str | None]]:
    return [(r["event"], r["user"]) for r in audit.export_rows() if r["kind"] == "event"]


class Subscriber:
    """A page in miniature: one Markdown filled on sign-in, cleared on sign-out."""

    def __init__(self, session: AdminSession) -> None:
        self.session = session
        self.box = gr.Markdown()

    def on_sign_in(self, token: str | None) -> Updates:
        user = self.session.user(token)
        return {self.box: f"hello {user}"} if user else {self.box: gr.skip()}

    def on_sign_out(self) -> Updates:
        return {self.box: ""}


def _mounted(session: AdminSession) -> tuple[gr.Blocks, Subscriber]:
    with gr.Blocks() as demo:
        session.build()
        for prefix in ("compliance", "evaluation"):
            with gr.Tab(prefix), session.gate(prefix):
                gr.Markdown("content")
        page = Subscriber(session)
        session.subscribe_sign_in(page.on_sign_in, page.box)
        session.subscribe_sign_out(page.on_sign_out, page.box)
        session.wire()
    return demo, page


def _session(tmp_path, audit: AuditLog | None = None, **settings: object) -> AdminSession:
    users = "alice:" + hash_password(PASSWORD, iterations=200_000)
    return AdminSession(make_settings(tmp_path, admin_users=users, **settings), audit)


def test_sign_in_opens_every_locked_tab_and_sign_out_closes_them(tmp_path, audit) -> None:
    session = _session(tmp_path, audit)
    _, page = _mounted(session)
    compliance, evaluation = session.forms
    assert [f.prefix for f in session.forms] == ["compliance", "evaluation"]

    wrong = session.on_login("alice", "guess", None)  # type: ignore[arg-type]
    assert wrong[session.token] is None
    for form in session.forms:
        assert wrong[form.box] == gr.update(visible=True)
        assert wrong[form.content] == gr.update(visible=False)
        assert wrong[form.message] == "⚠️ Wrong user name or password."
        assert (wrong[form.password], wrong[form.who]) == ("", "")
    assert page.on_sign_in(wrong[session.token]) == {page.box: gr.skip()}

    ok = session.on_login(" alice ", PASSWORD, None)  # type: ignore[arg-type]
    token = ok[session.token]
    assert isinstance(token, str) and len(token) >= 40
    for form in (compliance, evaluation):  # one login opens both tabs
        assert ok[form.box] == gr.update(visible=False)
        assert ok[form.content] == gr.update(visible=True)
        assert (ok[form.message], ok[form.password]) == ("", "")
        assert ok[form.who] == "Logged in as **alice**."
    assert session.need(token) == "alice"
    assert page.on_sign_in(token) == {page.box: "hello alice"}

    out = session.on_logout(token)
    assert out[session.token] is None
    for form in session.forms:
        assert out[form.box] == gr.update(visible=True)
        assert out[form.content] == gr.update(visible=False)
        assert (out[form.message], out[form.who], out[form.password]) == ("Logged out.", "", "")
    with pytest.raises(gr.Error, match="Log in first"):
        session.need(token)
    assert events(audit) == [("login_failed", None), ("login", "alice"), ("logout", "alice")]


def test_subscribers_run_after_every_login_and_logout_in_order(tmp_path) -> None:
    session = _session(tmp_path)
    demo, page = _mounted(session)
    fns = list(demo.fns.values())
    index = {id(f): i for i, f in enumerate(fns)}
    logins = [f for f in fns if f.fn == session.on_login]
    logouts = [f for f in fns if f.fn == session.on_logout]
    assert len(logins) == 4 and len(logouts) == 2  # button and Enter on each form
    for first, follow in ((logins, page.on_sign_in), (logouts, page.on_sign_out)):
        for event in first:
            after = [f for f in fns if f.trigger_after == index[id(event)]]
            assert [f.fn for f in after] == [follow]
            assert [b._id for b in after[0].outputs] == [page.box._id]
    for f in fns:
        assert f.api_visibility == "private"
    sign_in = next(f for f in fns if f.fn == page.on_sign_in)
    assert [b._id for b in sign_in.inputs] == [session.token._id]


def test_a_timed_out_session_says_so_once_then_is_gone(tmp_path, audit) -> None:
    now = [0.0]
    book = AdminSessions(idle=60, max_age=3600, clock=lambda: now[0])
    session = AdminSession(make_settings(tmp_path), audit, sessions=Sessions(book, audit))
    token = session.sessions.open("alice", "10.0.0.5")
    assert session.user(token) == "alice"
    now[0] = 61.0
    with pytest.raises(gr.Error, match="You were logged out: the session was idle for 1 min"):
        session.user(token)
    with pytest.raises(gr.Error, match="Log in first"):
        session.need(token)
    assert session.user("forged") is None
    assert events(audit) == [("session_expired", "alice")]


def test_without_users_the_tabs_say_how_to_configure_them(tmp_path) -> None:
    session = AdminSession(make_settings(tmp_path), None)
    assert session.locked_note is not None
    assert session.locked_note.startswith("**No users are configured, so these tabs are locked.**")
    demo, _ = _mounted(session)
    config = demo.get_config_file()
    texts = [c["props"].get("value") for c in config["components"] if c["type"] == "markdown"]
    assert session.locked_note in texts
    buttons = [
        c for c in config["components"] if c["props"].get("elem_id") == "compliance-login-button"
    ]
    assert buttons and buttons[0]["props"]["visible"] is False
    message = session.on_login("alice", "x", None)  # type: ignore[arg-type]
    assert message[session.forms[0].message].startswith("No users are configured.")
