"""The Documents section's handlers, called as Gradio calls them (advisor.ui.pages.documents)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.records.audit import AuditLog
from advisor.services.documents import DocumentService
from advisor.ui.pages.documents import DocumentsPage
from advisor.ui.render import admin as render
from tests.services.support import ZORBLAX, events, index_state, two_page_pdf, upload
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything

NO_META = [None] * 8
# In build_meta's order: title, type, jurisdiction, topics, references, date, version, owner.
META = ["Zorblax", None, None, "widgets, shipping", "", "2026-05-01", "1.0", "ECO"]


@pytest.fixture
def page(advisor: Advisor, audit: AuditLog) -> DocumentsPage:
    session = session_for(advisor.settings)
    page = DocumentsPage(session, DocumentService(advisor, audit))
    mount(session, page)
    return page


def select(row: list[object]) -> gr.SelectData:
    """The event Gradio passes when a cell of ``row`` is clicked."""
    return gr.SelectData(None, {"index": [0, 1], "value": row[1], "row_value": row})


def test_every_action_refuses_a_session_that_is_not_logged_in(
    page: DocumentsPage, advisor: Advisor, tmp_path: Path
) -> None:
    before = index_state(advisor)
    md = str(upload(tmp_path, "guide.md", ZORBLAX))
    for call in (
        lambda: page.on_preview(None, md, *META),
        lambda: page.on_publish(None, "token", md, False, *META),
        lambda: page.on_retire("forged", "corpus/guidance/travel-basics.md", True),
        lambda: page.on_sync(None),
        lambda: page.on_list(None),
        lambda: page.on_search(None, "travel", []),
        lambda: page.on_select(None, select(["", "", "corpus/guidance/travel-basics.md"])),
    ):
        with pytest.raises(gr.Error, match="Log in first"):
            call()
    assert index_state(advisor) == before
    assert skips_everything(page.on_open(None)) and skips_everything(page.on_sign_in(None))


def test_publish_needs_the_fields_and_a_preview_and_loses_nothing(
    page: DocumentsPage, advisor: Advisor, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    before = index_state(advisor)
    pdf = str(upload(tmp_path, "memo.pdf", two_page_pdf(tmp_path / "memo.pdf").read_bytes()))
    refused = page.on_publish(token, None, pdf, False, *NO_META)
    assert refused == {
        page.upload_result: "⚠️ memo.pdf: cannot be published without its title, effective "
        "date, version, owner. Fill in these fields, then check and preview again."
    }  # only the message: the file and the form keep what was entered
    shown = page.on_preview(token, pdf, *NO_META)
    assert shown[page.preview_token] is None
    assert "Not ready to publish" in shown[page.upload_result]
    assert "page 2 has no text layer" in shown[page.upload_result]
    bad_date = page.on_preview(token, pdf, *META[:5], "01/05/2026", *META[6:])
    assert "write it as YYYY-MM-DD" in bad_date[page.upload_result]
    assert bad_date[page.preview_token] is None

    ready = page.on_preview(token, pdf, *META)
    assert "Ready to publish" in ready[page.upload_result]
    previewed = ready[page.preview_token]
    changed = page.on_publish(token, previewed, pdf, False, *META[:6], "1.1", "ECO")
    assert list(changed) == [page.upload_result]
    assert "changed since the preview" in changed[page.upload_result]
    assert index_state(advisor) == before

    done = page.on_publish(token, previewed, pdf, False, *META)
    assert done[page.upload_result].startswith("✅ Published `corpus/uploads/memo.pdf`")
    assert done[page.preview_token] is None and done[page.doc_file] is None
    assert done[page.docs][0][1:] == ["**Zorblax**\nversion 1.0 · ECO", "corpus/uploads/memo.pdf"]


def test_publish_and_retire_through_the_page(
    page: DocumentsPage, advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    assert page.on_preview(token, None, *NO_META) == {
        page.upload_result: "⚠️ Choose a file first.",
        page.preview_token: None,
    }
    md = str(upload(tmp_path, "Zorblax Guide.md", ZORBLAX))
    preview = page.on_preview(token, md, *META)
    shown = preview[page.upload_result]
    assert shown.startswith("**Preview (not published yet)**") and "**Zorblax**" in shown
    assert not page.service.uploads_dir.exists()

    done = page.on_publish(token, preview[page.preview_token], md, False, *META)
    assert done[page.upload_result].startswith("✅ Published `corpus/uploads/zorblax-guide.md`")
    assert done[page.doc_file] is None  # the file box is cleared for the next upload
    assert done[page.search] == ""  # so the new document shows, on top
    assert done[page.docs][0][2] == "corpus/uploads/zorblax-guide.md"
    assert [r.origin for r in done[page.listed]].count("uploaded") == 1
    assert "corpus/uploads/zorblax-guide.md" in done[page.retire_choice]["choices"]
    again = page.on_publish(
        token, page.on_preview(token, md, *META)[page.preview_token], md, False, *META
    )
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

    token = signed_in(page.session)
    md = str(upload(tmp_path, "guide.md", ZORBLAX))
    previewed = page.on_preview(token, md, *META)[page.preview_token]
    monkeypatch.setattr(advisor.store.embeddings, "embed_documents", broken)
    before = index_state(advisor)
    shown = page.on_publish(token, previewed, md, False, *META)
    assert shown == {
        page.upload_result: "⚠️ Publishing failed and was undone: RuntimeError: embedding "
        "service down"
    }
    assert index_state(advisor) == before


def test_search_select_list_sync_open_and_sign_out(
    page: DocumentsPage, advisor: Advisor, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    md = str(upload(tmp_path, "guide.md", ZORBLAX))
    previewed = page.on_preview(token, md, *META)[page.preview_token]
    page.on_publish(token, previewed, md, False, *META)

    listed = page.on_list(token)
    rows = listed[page.listed]
    sources = [row[render.SOURCE_COLUMN] for row in listed[page.docs]]
    assert sources[0] == "corpus/uploads/guide.md"  # newest first
    assert "corpus/guidance/embargoes.md" in sources and len(sources) == len(rows)
    assert listed[page.doc_count] == f"{len(rows)} documents in the index, newest first."
    assert listed[page.retire_choice]["value"] is None

    found = page.on_search(token, "embargoes", rows)
    assert [r[render.SOURCE_COLUMN] for r in found[page.docs]] == ["corpus/guidance/embargoes.md"]
    assert found[page.doc_count] == f"1 of {len(rows)} documents match “embargoes”."
    assert page.on_search(token, "eco widgets", rows)[page.docs][0][2] == "corpus/uploads/guide.md"
    assert page.on_search(token, "nothing like this", rows)[page.docs] == []
    assert page.on_list(token, "travel")[page.docs][0][2] == "corpus/guidance/travel-basics.md"

    detail = page.on_select(token, select(listed[page.docs][0]))[page.doc_detail]
    assert "**Owner:** ECO" in detail and "**Topics:** widgets, shipping" in detail
    assert "**sha256:** " in detail and "UTC by alice" in detail
    gone = page.on_select(token, select(["", "", "corpus/guidance/nothing.md"]))
    assert "not in the index" in gone[page.doc_detail]
    assert skips_everything(
        page.on_select(token, gr.SelectData(None, {"index": None, "value": None}))
    )

    assert "value" not in page.on_open(token)[page.retire_choice]  # the choice is kept
    assert page.on_sign_in(token)[page.docs] == listed[page.docs]
    synced = page.on_sync(token)
    assert synced[page.docs_result].startswith("✅ Sync done: added 0")
    cleared = page.on_sign_out()
    assert cleared[page.docs] == [] and cleared[page.listed] == []
    assert cleared[page.doc_detail] == render.SELECT_A_DOCUMENT
