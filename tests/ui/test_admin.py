"""The assembled Compliance and Evaluation tabs (advisor.ui.admin), without a browser.

The services and each page's handlers have their own tests (tests/services, tests/ui/pages);
here: the tabs build inside any Blocks, and no handler they register acts for a session that
is not logged in. Fake embeddings; the corpus, rules and list are copies in tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.records.audit import AuditLog
from advisor.ui import admin
from tests.services.support import index_state, make_advisor


@pytest.fixture
def advisor(tmp_path: Path) -> Advisor:
    return make_advisor(tmp_path)


@pytest.fixture
def audit(tmp_path: Path):
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()


def test_tabs_build_inside_blocks(advisor: Advisor, audit: AuditLog, tmp_path: Path) -> None:
    with gr.Blocks() as demo:
        admin.build_admin_tabs(advisor, audit, reports_dir=tmp_path / "reports")
    config = demo.get_config_file()
    labels = {c["props"].get("label") for c in config["components"]}
    assert {"Compliance", "Evaluation", "Password", "Rule file contents"} <= labels
    for component in config["components"]:
        if component["type"] in ("textbox", "dropdown", "file", "checkbox", "code", "dataframe"):
            assert component["props"].get("label"), component


def test_every_action_refuses_a_session_that_is_not_logged_in(
    advisor: Advisor, tmp_path: Path
) -> None:
    """The hidden column is only cosmetic: each handler checks the server-side login state."""
    with gr.Blocks() as demo:
        admin.build_admin_tabs(advisor, None, reports_dir=tmp_path / "reports")
    open_to_all = {"on_login", "on_logout", "on_sign_out"}
    quiet = {"on_sign_in", "on_open", "on_expand"}  # these change nothing when logged out
    guarded = [f for f in demo.fns.values() if f.fn and f.fn.__name__ not in open_to_all | quiet]
    names = {f.fn.__name__ for f in guarded}
    assert {"on_publish", "on_retire", "on_sync", "on_save", "on_csl_replace", "on_run"} <= names
    before = index_state(advisor)
    for f in guarded:
        with pytest.raises(gr.Error, match="Log in first"):
            f.fn(*[None] * len(f.inputs))
    assert index_state(advisor) == before
    checked = 0
    for f in demo.fns.values():
        if f.fn and f.fn.__name__ in quiet:
            updates = f.fn(None)
            assert updates and all(value == gr.skip() for value in updates.values())
            checked += 1
    assert checked >= 4 * 5 + 2 + 2  # sign-in after each of 4 login events, 2 tabs, 2 sections


def test_an_audit_that_cannot_record_events_is_not_used(
    advisor: Advisor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with gr.Blocks():
        admin.build_admin_tabs(advisor, object(), reports_dir=tmp_path / "reports")
    assert "cannot record events; the admin tabs run without an audit trail" in caplog.text
