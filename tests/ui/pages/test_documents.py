"""The Documents section's handlers, called as Gradio calls them (advisor.ui.pages.documents)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.records.audit import AuditLog
from advisor.services.documents import DocumentService
from advisor.ui.pages.documents import DocumentsPage
from tests.services.support import ZORBLAX, events, index_state, upload
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything

NO_META = [None] * 8


@pytest.fixture
def page(advisor: Advisor, audit: AuditLog) -> DocumentsPage:
    session = session_for(advisor.settings)
    page = DocumentsPage(session, DocumentService(advisor, audit))
    mount(session, page)
    return page


def test_every_action_refuses_a_session_that_is_not_logged_in(
    page: DocumentsPage, advisor: Advisor, tmp_path: Path
) -> None:
    before = index_state(advisor)
    md = str(upload(tmp_path, "guide.md", ZORBLAX))
    for call in (
        lambda: page.on_preview(None, md, *NO_META),
        lambda: page.on_publish(None, md, False, *NO_META),
        lambda: page.on_retire("forged", "corpus/guidance/travel-basics.md", True),
        lambda: page.on_sync(None),
        lambda: page.on_list(None),
    ):
        with pytest.raises(gr.Error, match="Log in first"):
            call()
    assert index_state(advisor) == before
    assert skips_everything(page.on_open(None)) and skips_everything(page.on_sign_in(None))


def test_publish_and_retire_through_the_page(
    page: DocumentsPage, advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    assert page.on_preview(token, None, *NO_META) == {page.upload_result: "⚠️ Choose a file first."}
    md = str(upload(tmp_path, "Zorblax Guide.md", ZORBLAX))
    shown = page.on_preview(token, md, "Zorblax", *NO_META[1:])[page.upload_result]
    assert shown.startswith("**Preview (not published yet)**") and "**Zorblax**" in shown
    assert not page.service.uploads_dir.exists()

    done = page.on_publish(token, md, False, *NO_META)
    assert done[page.upload_result].startswith("✅ Published `corpus/uploads/zorblax-guide.md`")
    assert done[page.doc_file] is None  # the file box is cleared for the next upload
    assert [row[0] for row in done[page.docs] if row[-1] == "uploaded"] == [
        "corpus/uploads/zorblax-guide.md"
    ]
    assert "corpus/uploads/zorblax-guide.md" in done[page.retire_choice]["choices"]
    again = page.on_publish(token, md, False, *NO_META)
    assert again[page.upload_result].startswith("⚠️ zorblax-guide.md is already published")
    assert page.docs not in again  # nothing else changes

    refused = page.on_retire(token, "corpus/guidance/travel-basics.md", False)
    assert "shipped document" in refused[page.docs_result] and page.confirm not in refused
    retired = page.on_retire(token, "corpus/uploads/zorblax-guide.md", False)
    assert retired[page.docs_result].startswith("✅ Retired `corpus/uploads/zorblax-guide.md`")
    assert retired[page.confirm] is False
    assert [e["user"] for e in events(audit)] == ["alice", "alice"]


def test_an_unexpected_failure_is_shown_and_undone(
    page: DocumentsPage, advisor: Advisor, tmp_path: Path, monkeypatch
) -> None:
    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")

    monkeypatch.setattr(advisor.store.embeddings, "embed_documents", broken)
    before = index_state(advisor)
    md = str(upload(tmp_path, "guide.md", ZORBLAX))
    shown = page.on_publish(signed_in(page.session), md, False, *NO_META)
    assert shown == {
        page.upload_result: "⚠️ Publishing failed and was undone: RuntimeError: embedding "
        "service down"
    }
    assert index_state(advisor) == before


def test_list_sync_open_and_sign_out(page: DocumentsPage, advisor: Advisor) -> None:
    token = signed_in(page.session)
    listed = page.on_list(token)
    sources = [row[0] for row in listed[page.docs]]
    assert "corpus/guidance/embargoes.md" in sources
    assert listed[page.retire_choice]["value"] is None
    assert "value" not in page.on_open(token)[page.retire_choice]  # the choice is kept
    assert page.on_sign_in(token)[page.docs] == listed[page.docs]
    synced = page.on_sync(token)
    assert synced[page.docs_result].startswith("✅ Sync done: added 0")
    assert page.on_sign_out() == {page.docs: []}
