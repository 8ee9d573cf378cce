"""The Feedback review section's handlers (advisor.ui.pages.feedback)."""

from __future__ import annotations

import csv
from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.models import Level
from advisor.records.audit import AuditLog
from advisor.services.answering import AnsweringService, Origin
from advisor.services.feedback import FeedbackReview
from advisor.ui.pages.feedback import FeedbackPage
from advisor.ui.render import admin as render
from tests.services.support import CRIMEA
from tests.services.test_feedback import _answer
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything


def _page(advisor: Advisor, audit: AuditLog | None) -> FeedbackPage:
    session = session_for(advisor.settings)
    page = FeedbackPage(session, FeedbackReview(audit, advisor.store.chunks))
    mount(session, page)
    return page


def test_feedback_refuses_a_session_that_is_not_logged_in(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = _page(advisor, audit)
    with pytest.raises(gr.Error, match="Log in first"):
        page.on_feedback(None, "any", "", "")
    with pytest.raises(gr.Error, match="Log in first"):
        page.on_select(None, [], gr.SelectData(None, {"index": [0, 0], "value": ""}))
    assert skips_everything(page.on_sign_in(None))


def test_the_table_the_note_and_the_download(advisor: Advisor, audit: AuditLog) -> None:
    page = _page(advisor, audit)
    token = signed_in(page.session)
    hidden = gr.update(visible=False)
    assert page.on_feedback(token, "any", "", "") == {
        page.table: [],
        page.listed: [],
        page.note: "No thumbs-down answers match these filters.",
        page.download: hidden,
        page.detail: render.SELECT_FEEDBACK,
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
    assert shown[page.table][0][1:] == ["@SUM(1) may I ship to Crimea?", "wrong level"]
    assert shown[page.table][0][0].endswith("\n**PROHIBITED**")
    assert [item.record_id for item in shown[page.listed]] == [record]
    assert shown[page.download]["visible"] is True
    with Path(shown[page.download]["value"]).open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh))[1][2] == "'@SUM(1) may I ship to Crimea?"
    bad = page.on_feedback(token, "any", "", "yesterday")
    assert bad[page.note].startswith("⚠️ since 'yesterday': write the date as YYYY-MM-DD")
    assert bad[page.table] == [] and bad[page.download] == hidden
    assert page.on_sign_in(token) == {page.note: ""}
    assert page.on_sign_out() == {
        page.table: [],
        page.listed: [],
        page.detail: render.SELECT_FEEDBACK,
    }


def test_selecting_a_row_opens_the_answer_its_sources_and_conversation(
    advisor: Advisor, audit: AuditLog
) -> None:
    answering = AnsweringService(advisor, audit)
    chat = Origin("ui", "conv-1", None)
    first = answering.ask(CRIMEA, chat)
    second = answering.ask("Is a licence needed to send items to Cuba?", chat)
    assert first.record_id and second.record_id
    answering.rate(first.record_id, "down", "other; " + "a long comment " * 40, "erin")
    answering.rate(second.record_id, "down", "wrong level", "erin")
    page = _page(advisor, audit)
    token = signed_in(page.session)
    shown = page.on_feedback(token, "any", "", "")
    listed = shown[page.listed]
    assert [item.record_id for item in listed] == [second.record_id, first.record_id]

    def clicked(row: int) -> str:
        data = {"index": [row, 2], "value": shown[page.table][row][2]}
        return page.on_select(token, listed, gr.SelectData(None, data))[page.detail]

    detail = clicked(1)
    assert "a long comment a long comment" in detail  # all of it, wrapped, no scrolling
    assert f"**Question:** {render.md_text(CRIMEA)}" in detail
    assert "**Bottom line:** " + render.md_text(first.answer.bottom_line) in detail
    assert "**Level:** PROHIBITED" in detail
    cited = first.answer.citations[0]
    assert render.md_text(cited.title) in detail and render.md_text(cited.source) in detail
    assert "Conversation (2 answer(s), in order)" in detail
    assert detail.index(render.md_text(CRIMEA), detail.index("#### Conversation")) < detail.index(
        "Cuba", detail.index("#### Conversation")
    )
    assert "the disliked answer" in clicked(0)
    assert skips_everything(
        page.on_select(token, listed, gr.SelectData(None, {"index": [9, 0], "value": ""}))
    )
    assert skips_everything(
        page.on_select(token, [], gr.SelectData(None, {"index": [0, 0], "value": ""}))
    )


def test_without_an_audit_trail_there_is_nothing_to_review(advisor: Advisor) -> None:
    page = _page(advisor, None)
    shown = page.on_feedback(signed_in(page.session), "any", "", "")
    assert shown[page.note].startswith("⚠️ no audit trail is configured")
