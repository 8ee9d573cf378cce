"""The Ask tab's handlers, called as Gradio calls them: each returns {component: value}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from sqlalchemy import create_engine, inspect, text

from advisor.chain import Advisor
from advisor.models import Answer
from advisor.records.audit import AuditLog
from advisor.services.answering import AnsweringService
from advisor.ui.pages.chat import FAILED, ChatPage
from advisor.ui.render.chat import COPY_JS, SHOW_ANSWER_JS
from tests.services.support import CRIMEA, make_advisor
from tests.ui.render.test_chat import sample_answer


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    """One advisor for the module: the chat never changes it (each test has its own trail)."""
    return make_advisor(tmp_path_factory.mktemp("chat"))


def chat_page(advisor: Advisor, audit: AuditLog | None) -> ChatPage:
    page = ChatPage(AnsweringService(advisor, audit), advisor.settings.office_contact)
    with gr.Blocks():
        page.build()
        page.wire()
    return page


def asked(page: ChatPage, question: str, before: dict[Any, Any] | None = None) -> list[dict]:
    """All updates of one question, after the conversation ``before`` (a final update)."""
    state = before or {page.chat: [], page.answers: [], page.records: {}}
    return list(
        page.respond(
            question,
            None,
            state[page.chat],
            state[page.answers],
            state[page.records],
            "conv-1",
            {},
            gr.Request(username="alice"),
        )
    )


def channels(audit: AuditLog) -> list[tuple[str, str, str | None]]:
    audit.flush()
    engine = create_engine(audit.url)
    if not inspect(engine).has_table("audit_log"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT channel, conversation_id, username FROM audit_log ORDER BY seq")
        )
        out = [tuple(r) for r in rows]
    engine.dispose()
    return out  # type: ignore[return-value]


def test_an_answer_streams_in_then_sets_badge_sources_and_its_record(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = chat_page(advisor, audit)
    updates = asked(page, CRIMEA)
    first, last = updates[0], updates[-1]
    view = {page.chat, page.box, page.level_panel, page.answers, page.records, page.sources}
    assert all(set(u) == view for u in updates)
    assert first[page.chat] == [{"role": "user", "content": CRIMEA}] and first[page.box] == ""
    assert "Ask a question to see its escalation level" in first[page.level_panel]
    streamed = [u[page.chat][-1]["content"] for u in updates[1:-1]]
    assert streamed and all(isinstance(s, str) for s in streamed)
    assert len(streamed[-1]) >= len(streamed[0])

    messages = last[page.chat]
    assert messages[1]["content"].startswith("🟥 **PROHIBITED**")
    assert messages[2]["metadata"]["title"].startswith("Sources (")
    assert 'data-level="prohibited"' in last[page.level_panel]
    (answer,) = last[page.answers]
    assert Answer.model_validate(answer).level.value == "prohibited"
    record_id = last[page.records]["1"]
    assert last[page.records] == {"1": record_id, "2": record_id}
    assert 'id="src-1-1"' in last[page.sources]
    assert channels(audit) == [("ui", "conv-1", "alice")]


def test_a_follow_up_keeps_the_conversation_and_ties_each_answer_to_its_record(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = chat_page(advisor, audit)
    one = asked(page, CRIMEA)[-1]
    two = asked(page, "And what if the items are only software?", one)[-1]
    assert len(two[page.answers]) == 2
    assert two[page.chat][: len(one[page.chat])] == one[page.chat]
    ids = set(two[page.records].values())
    assert len(ids) == 2 and two[page.records]["1"] == one[page.records]["1"]
    assert two[page.sources].index("Question 2") < two[page.sources].index("Question 1")
    assert [c for c, _, _ in channels(audit)] == ["ui", "ui"]


def test_a_refused_question_goes_back_into_the_box(advisor: Advisor, audit: AuditLog) -> None:
    page = chat_page(advisor, audit)
    last = asked(page, "   ")[-1]
    assert last[page.box] == "   "
    warning = last[page.chat][-1]["content"]
    assert warning.startswith("⚠️ ") and "empty" in warning
    assert last[page.answers] == [] and channels(audit) == []


def test_a_bug_while_answering_says_so_and_keeps_the_question(
    advisor: Advisor, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = chat_page(advisor, audit)

    def broken(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(page.answering, "stream", broken)
    last = asked(page, CRIMEA)[-1]
    assert last[page.box] == CRIMEA
    assert last[page.chat] == [{"role": "assistant", "content": f"⚠️ {FAILED}"}]


def like(index: int, liked: bool) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "x", "liked": liked})


def test_thumbs_up_is_recorded_and_thumbs_down_asks_why_first(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = chat_page(advisor, audit)
    last = asked(page, CRIMEA)[-1]
    records = last[page.records]
    request = gr.Request(username="bob")
    up = page.on_like(records, request, like(1, True))
    assert up == {
        page.feedback_form: gr.update(visible=False),
        page.pending: None,
        page.feedback_note: "Thanks: your feedback was recorded.",
    }
    down = page.on_like(records, request, like(2, False))
    assert down == {
        page.feedback_form: gr.update(visible=True),
        page.pending: records["2"],
        page.feedback_note: "",
    }
    sent = page.send_feedback(records["2"], "wrong level", "  too strict ", request)
    assert sent == {
        page.feedback_form: gr.update(visible=False),
        page.pending: None,
        page.comment: "",
        page.feedback_note: "Thanks: your feedback was recorded.",
    }
    rows = audit.feedback()
    assert [(r.rating, r.reason, r.comment, r.user) for r in rows] == [
        ("down", "wrong level", "too strict", "bob"),
        ("up", None, None, "bob"),
    ]


def test_feedback_without_a_trail_or_record_says_so(advisor: Advisor) -> None:
    page = chat_page(advisor, None)
    last = asked(page, CRIMEA)[-1]
    assert last[page.records] == {}
    note = page.on_like(last[page.records], gr.Request(), like(1, True))
    assert note[page.feedback_note] == "Feedback is not recorded in this setup."
    assert note[page.feedback_form] == gr.update(visible=False)
    assert page.send_feedback("a" * 32, None, "", gr.Request())[page.feedback_note] == (
        "Nothing to send."
    )


def test_export_gives_markdown_and_pdf(advisor: Advisor, audit: AuditLog) -> None:
    page = chat_page(advisor, audit)
    with pytest.raises(gr.Error, match="nothing to export"):
        page.export([])
    update = page.export([sample_answer().model_dump(mode="json")])
    assert update["visible"] is True
    md, pdf = (Path(p) for p in update["value"])
    assert md.name == "export-advisor-conversation.md" and pdf.suffix == ".pdf"
    assert advisor.settings.office_contact in md.read_text()


def test_a_new_conversation_clears_everything_and_gets_a_new_id(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = chat_page(advisor, audit)
    one, two = page.clear(), page.clear()
    assert one[page.chat] == [] and one[page.box] == "" and one[page.answers] == []
    assert one[page.records] == {} and "Sources of each answer" in one[page.sources]
    assert "Ask a question" in one[page.level_panel]
    assert len(one[page.conversation]) == 32 and one[page.conversation] != two[page.conversation]
    # Nothing of the old conversation stays: export files, an open feedback form, its draft.
    assert one[page.files] == gr.update(value=None, visible=False)
    assert one[page.feedback_form] == gr.update(visible=False) and one[page.pending] is None
    assert one[page.reason] is None and one[page.comment] == "" and one[page.feedback_note] == ""


def test_the_trash_icon_and_new_conversation_are_the_same_full_reset(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = ChatPage(AnsweringService(advisor, audit), advisor.settings.office_contact)
    with gr.Blocks() as demo:
        page.build()
        page.wire()
    fns = list(demo.fns.values())
    trash = [d for d in fns if d.targets == [(page.chat._id, "clear")]]
    button = [d for d in fns if d.targets == [(page.clear_button._id, "click")]]
    assert [d.fn for d in trash] == [d.fn for d in button] == [page.clear]
    reset = {o._id for o in trash[0].outputs}
    assert reset == {o._id for o in button[0].outputs} == {c._id for c in page.clear()}


def test_after_a_reset_the_next_question_is_question_one(advisor: Advisor, audit: AuditLog) -> None:
    page = chat_page(advisor, audit)
    first = asked(page, CRIMEA)[-1]
    second = asked(page, CRIMEA, first)[-1]
    assert "Question 2" in second[page.sources] and "#src-2-" in second[page.chat][-2]["content"]
    after = asked(page, CRIMEA, page.clear())[-1]
    assert "Question 2" not in after[page.sources] and "Question 1" in after[page.sources]
    assert "#src-1-" in after[page.chat][1]["content"] and len(after[page.answers]) == 1


def test_each_answer_then_brings_its_start_into_view(advisor: Advisor, audit: AuditLog) -> None:
    """After the answer streams in, the page JS scrolls to its start (the chat does not
    autoscroll to the end); the copy button is a JS-only action."""
    page = ChatPage(AnsweringService(advisor, audit), advisor.settings.office_contact)
    with gr.Blocks() as demo:
        page.build()
        page.wire()
    fns = list(demo.fns.values())
    asks = [i for i, d in enumerate(fns) if d.fn == page.respond]
    assert len(asks) == 2 and all(fns[i + 1].js == SHOW_ANSWER_JS for i in asks)
    assert page.chat.autoscroll is False and page.copy_button in page.chat.buttons
    (copy,) = [d for d in fns if d.targets[0][0] == page.copy_button._id]
    assert copy.fn is None and copy.js == COPY_JS


def test_the_api_answers_as_json_and_records_channel_api(advisor: Advisor, audit: AuditLog) -> None:
    page = chat_page(advisor, audit)
    data = page.api_ask(CRIMEA, gr.Request(username="carol"))
    assert Answer.model_validate(data).level.value == "prohibited"
    ((channel, conversation, user),) = channels(audit)
    assert (channel, user) == ("api", "carol") and conversation.startswith("api-")
    with pytest.raises(gr.Error, match="empty"):
        page.api_ask("  ", gr.Request())


def test_conversation_export_markdown_and_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from advisor.writing.transcript import to_markdown, to_pdf

    answer = sample_answer()
    md = to_markdown([answer], "the office")
    assert "**Level: ESCALATE**" in md and "15 CFR 744.11" in md and "> Line one." in md
    pdf = to_pdf([answer, answer], "the office", tmp_path / "c.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Level: ESCALATE" in text and "Question 2" in text and "Line two." in text
