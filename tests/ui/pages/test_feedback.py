"""The Feedback review section's handlers (advisor.ui.pages.feedback)."""

from __future__ import annotations

import csv
from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.models import Level
from advisor.records.audit import AuditLog
from advisor.services.feedback import FeedbackReview
from advisor.ui.pages.feedback import FeedbackPage
from tests.services.test_feedback import _answer
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything


def _page(advisor: Advisor, audit: AuditLog | None) -> FeedbackPage:
    session = session_for(advisor.settings)
    page = FeedbackPage(session, FeedbackReview(audit))
    mount(session, page)
    return page


def test_feedback_refuses_a_session_that_is_not_logged_in(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = _page(advisor, audit)
    with pytest.raises(gr.Error, match="Log in first"):
        page.on_feedback(None, "any", "", "")
    assert skips_everything(page.on_sign_in(None))


def test_the_table_the_note_and_the_download(advisor: Advisor, audit: AuditLog) -> None:
    page = _page(advisor, audit)
    token = signed_in(page.session)
    hidden = gr.update(visible=False)
    assert page.on_feedback(token, "any", "", "") == {
        page.table: [],
        page.note: "No thumbs-down answers match these filters.",
        page.download: hidden,
    }
    record = audit.record_answer(
        _answer("@SUM(1) may I ship to Crimea?", Level.PROHIBITED, "corpus/a.md"),
        conversation_id="c",
        user=None,
        corpus_hash="h",
        rules_hash="r",
    )
    assert record is not None
    audit.add_feedback(record, "down", "wrong level", "erin")
    shown = page.on_feedback(token, "prohibited", "crimea", "2000-01-01")
    assert shown[page.note] == "1 thumbs-down answer(s)."
    assert shown[page.table][0][1:] == [
        "prohibited",
        "@SUM(1) may I ship to Crimea?",
        "corpus/a.md",
        "wrong level",
        "erin",
        record,
    ]
    assert shown[page.download]["visible"] is True
    with Path(shown[page.download]["value"]).open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh))[1][2] == "'@SUM(1) may I ship to Crimea?"
    bad = page.on_feedback(token, "any", "", "yesterday")
    assert bad[page.note].startswith("⚠️ since 'yesterday': write the date as YYYY-MM-DD")
    assert bad[page.table] == [] and bad[page.download] == hidden
    assert page.on_sign_in(token) == {page.note: ""}
    assert page.on_sign_out() == {page.table: []}


def test_without_an_audit_trail_there_is_nothing_to_review(advisor: Advisor) -> None:
    page = _page(advisor, None)
    shown = page.on_feedback(signed_in(page.session), "any", "", "")
    assert shown[page.note].startswith("⚠️ no audit trail is configured")
