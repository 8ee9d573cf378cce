"""A document attached to a chat question, called as Gradio calls the handlers: the real
model and Chroma over the test corpus, a real PDF, a real audit trail and history store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from advisor.chain import Advisor, build_advisor
from advisor.records.audit import AuditLog
from advisor.services.answering import AnsweringService
from advisor.services.attachments import AttachmentReader
from advisor.services.conversations import FILE_NAME, ConversationStore
from advisor.ui.pages.chat import NOT_KEPT, ChatPage
from advisor.ui.render.chat import (
    ATTACHED,
    history_turns,
    split_attachment,
    with_attachment,
)
from tests.conftest import make_settings
from tests.services.support import upload
from tests.services.test_attachments import QUESTION, write_pdf

pytestmark = pytest.mark.slow
Final = dict[Any, Any]
SOURCE = "attachment:sponsor-agreement.pdf"


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory, real_embeddings) -> Advisor:
    return build_advisor(
        make_settings(tmp_path_factory.mktemp("attach")), embeddings=real_embeddings
    )


@pytest.fixture
def page(advisor: Advisor, tmp_path: Path) -> ChatPage:
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    page = ChatPage(
        AnsweringService(advisor, audit),
        advisor.settings.office_contact,
        ConversationStore(tmp_path / FILE_NAME),
        AttachmentReader(advisor.settings),
    )
    with gr.Blocks():
        page.build()
        page.wire()
    return page


def ask(page: ChatPage, question: str, file: Path | None, state: Final | None = None) -> Final:
    """Every update of one question folded into the final state, as the browser holds it."""
    state = dict(state or page.clear())
    for update in page.respond(
        question,
        None if file is None else str(file),
        state[page.chat],
        state[page.answers],
        state[page.records],
        state[page.conversation],
        state[page.attached],
        gr.Request(username="alice"),
    ):
        state.update(update)
    return state


def regenerate(page: ChatPage, state: Final) -> Final:
    chat = state[page.chat]
    index = max(i for i, m in enumerate(chat) if m["role"] == "user")
    data = gr.RetryData(None, {"index": index, "value": chat[index]["content"]})
    out = dict(state)
    for update in page.regenerate(
        chat,
        state[page.answers],
        state[page.records],
        state[page.conversation],
        state[page.attached],
        gr.Request(username="alice"),
        data,
    ):
        out.update(update)
    return out


def attachment_citations(state: Final, page: ChatPage) -> list[dict[str, Any]]:
    (answer,) = state[page.answers][-1:]
    return [c for c in answer["citations"] if c["source"] == SOURCE]


def test_the_attached_agreement_is_read_for_its_question_and_cited_by_page(
    page: ChatPage, advisor: Advisor, tmp_path: Path
) -> None:
    before = advisor.store.counts(), advisor.store.digest()
    pdf = write_pdf(upload(tmp_path, "sponsor-agreement.pdf", b""))
    state = ask(page, QUESTION, pdf)
    question = state[page.chat][0]
    assert question["role"] == "user"
    assert question["content"] == f"{QUESTION}\n\n{ATTACHED}sponsor-agreement.pdf"
    assert str(pdf) not in str(state[page.chat])  # the name is shown, never the temp path
    cited = attachment_citations(state, page)
    assert any(c["page"] == 2 and "approve any publication" in c["text"] for c in cited)
    assert state[page.answers][0]["level"] == "escalate"
    assert state[page.attach] is None  # taken off the box once answered
    assert list(state[page.attached]) == ["0"]
    assert state[page.box] == ""
    assert (advisor.store.counts(), advisor.store.digest()) == before  # never indexed


def test_the_next_question_is_not_read_with_the_file(page: ChatPage, tmp_path: Path) -> None:
    pdf = write_pdf(upload(tmp_path, "sponsor-agreement.pdf", b""))
    state = ask(page, QUESTION, pdf)
    later = ask(page, "Can I take my laptop to a conference in Germany?", None, state)
    assert attachment_citations(later, page) == []
    assert later[page.answers][-1]["attachment"] is None
    # The earlier question reaches the chain as text only, without its file line.
    turns = history_turns(later[page.chat])
    assert turns[0].content == QUESTION


def test_a_broken_file_is_a_clear_message_and_keeps_question_and_file(
    page: ChatPage, tmp_path: Path
) -> None:
    bad = upload(tmp_path, "agreement.pdf", b"this is not a PDF at all")
    state = page.clear()
    updates = list(
        page.respond(
            QUESTION,
            str(bad),
            [],
            [],
            {},
            state[page.conversation],
            {},
            gr.Request(username="alice"),
        )
    )
    (final,) = updates
    assert final[page.box] == QUESTION  # nothing the user typed is lost
    assert page.attach not in final  # and the file stays attached
    (warning,) = final[page.chat]
    assert "agreement.pdf" in warning["content"] and final[page.answers] == []


def test_regenerate_reads_the_file_again_while_the_session_holds_it(
    page: ChatPage, tmp_path: Path
) -> None:
    pdf = write_pdf(upload(tmp_path, "sponsor-agreement.pdf", b""))
    state = ask(page, QUESTION, pdf)
    again = regenerate(page, state)
    assert len(again[page.answers]) == 1
    assert any(c["page"] == 2 for c in attachment_citations(again, page))
    # A conversation reopened later no longer holds the file: it must be attached again.
    reopened = {**state, page.attached: {}}
    refused = regenerate(page, reopened)
    assert refused[page.chat][-1]["content"].endswith(NOT_KEPT)
    assert refused[page.answers] == state[page.answers]


def test_the_file_line_round_trips() -> None:
    shown = with_attachment("Can we sign this?", "nda.docx")
    assert split_attachment(shown) == ("Can we sign this?", "nda.docx")
    assert split_attachment("Can we sign this?") == ("Can we sign this?", None)
    assert with_attachment("Q?", None) == "Q?"
