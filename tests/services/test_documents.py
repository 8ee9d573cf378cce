"""Publishing, retiring and syncing corpus documents (advisor.services.documents).

Fake embeddings everywhere; the corpus is a copy in tmp_path, so nothing here touches the
repository's files.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from advisor.chain import Advisor
from advisor.corpus.ingest import load_document
from advisor.errors import InputError
from advisor.records.audit import AuditLog
from advisor.services import documents
from advisor.services.documents import (
    DocumentService,
    ReplacePolicy,
    RetirePolicy,
    UploadMeta,
    build_meta,
    check_upload,
    safe_name,
)
from advisor.ui.render import admin as render
from advisor.yamlfile import sidecar_path
from tests.conftest import shared_path
from tests.services.support import ZORBLAX, events, index_state, two_page_pdf, upload

# --------------------------------------------------------------------------- upload checks


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.docx", b"PK\x03\x04 word", "cannot be published"),
        ("noextension", b"hello", "cannot be published"),
        ("fake.pdf", b"just some text, not a PDF", "not a PDF"),
        ("renamed.md", b"%PDF-1.7\n...", "content is a PDF"),
        ("binary.txt", b"abc\x00\x01\x02", "binary content"),
        ("latin1.md", "Caf\xe9 export".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"", "empty"),
    ],
)
def test_upload_type_is_checked_by_name_and_content(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        check_upload(upload(tmp_path, name, content), name, 1_000_000)


def test_upload_size_limit(tmp_path: Path, advisor: Advisor) -> None:
    big = upload(tmp_path, "big.md", "word " * 5000)
    with pytest.raises(InputError, match="over the upload limit of 0 MB"):
        check_upload(big, "big.md", 1000)
    huge = upload(tmp_path, "huge.md", "word " * 250_000)
    advisor.settings = advisor.settings.model_copy(update={"max_upload_mb": 1})
    before = index_state(advisor)
    with pytest.raises(InputError, match="upload limit"):
        DocumentService(advisor).publish(huge)
    assert index_state(advisor) == before
    limit = documents.max_upload_bytes(SimpleNamespace(max_upload_mb=3))  # type: ignore[arg-type]
    assert limit == 3 * documents.MB


def test_broken_pdf_is_refused_before_anything_is_stored(tmp_path: Path, advisor: Advisor) -> None:
    broken = upload(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    before = index_state(advisor)
    service = DocumentService(advisor)
    with pytest.raises(InputError, match=r"broken\.pdf: (not a readable PDF|no page has a text)"):
        service.publish(broken)
    assert index_state(advisor) == before
    uploads = service.uploads_dir
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_encrypted_pdf_gets_a_clear_message(tmp_path: Path, advisor: Advisor) -> None:
    sample = shared_path("data", "pdf-samples", "libreoffice-writer-password.pdf")
    locked = upload(tmp_path, sample.name, sample.read_bytes())
    with pytest.raises(InputError, match="libreoffice-writer-password.pdf: the PDF is password"):
        DocumentService(advisor).preview(locked)


def test_metadata_form_is_validated() -> None:
    meta = build_meta(
        "Guide", "checklist", "EU", "travel, laptops", ["15 CFR 740.14"], "2026-01-31", "3", ""
    )
    assert meta.sidecar() == {
        "title": "Guide",
        "doc_type": "checklist",
        "jurisdiction": "EU",
        "topics": ["travel", "laptops"],
        "source_refs": ["15 CFR 740.14"],
        "effective_date": "2026-01-31",
        "version": "3",
    }
    assert build_meta().sidecar() == {}
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        build_meta(effective_date="31/01/2026")
    with pytest.raises(InputError, match="doc_type"):
        build_meta(doc_type="novel")


def test_safe_names() -> None:
    assert safe_name("../../etc/My Report (final).PDF") == "my-report-final.pdf"
    assert safe_name("README.md") == "readme-doc.md"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("Ünïcödé  guide.md") == "unicode-guide.md"
    assert safe_name("файл.md") == "fayl.md"  # transliterated, not dropped to "md"
    assert safe_name("合同.pdf") == "hetong.pdf"
    assert safe_name("x.meta.yaml.md") == "x.meta.yaml.md"
    assert safe_name("???.txt") == "document.txt"


def test_policies_follow_the_form_checkboxes() -> None:
    assert ReplacePolicy.of(True) is ReplacePolicy.REPLACE
    assert ReplacePolicy.of(False) is ReplacePolicy.REFUSE
    assert RetirePolicy.of(True) is RetirePolicy.INCLUDING_SHIPPED
    assert RetirePolicy.of(False) is RetirePolicy.UPLOADS_ONLY


def test_the_sidecar_publish_writes_is_the_one_the_loader_reads(
    tmp_path: Path, advisor: Advisor
) -> None:
    """One naming rule: ``x.pdf`` -> ``x.pdf.meta.yaml``, for writer and reader alike."""
    assert sidecar_path(Path("corpus/uploads/report.pdf")) == Path(
        "corpus/uploads/report.pdf.meta.yaml"
    )
    done = DocumentService(advisor).publish(
        upload(tmp_path, "guide.md", ZORBLAX), UploadMeta(owner="ECO", version="7")
    )
    target = advisor.settings.corpus_dir.parent / done.source
    assert yaml.safe_load(sidecar_path(target).read_text(encoding="utf-8")) == {
        "owner": "ECO",
        "version": "7",
    }
    doc = load_document(target, advisor.settings.corpus_dir.parent)
    assert (doc.meta.owner, doc.meta.version) == ("ECO", "7")


# --------------------------------------------------------------------------- preview and publish


def test_preview_reports_pages_chunks_and_warnings(tmp_path: Path, advisor: Advisor) -> None:
    service = DocumentService(advisor)
    pdf = two_page_pdf(tmp_path / "memo.pdf")
    staged = service.preview(upload(tmp_path, "Memo.pdf", pdf.read_bytes()))
    assert (staged.name, staged.pages, staged.chunks) == ("memo.pdf", 1, 1)
    assert staged.warnings == ["Memo.pdf: page 2 has no text layer (scanned image?)"]
    text = render.staged(staged)
    assert "1 page(s) with text, 1 chunk(s)" in text and "page 2 has no text" in text
    assert "Quibbleton" in text
    assert not staged.folder.exists()  # nothing kept
    assert not service.uploads_dir.exists()
    md = upload(tmp_path, "guide.md", ZORBLAX)
    staged = service.preview(md, build_meta(title="Zorblax", version="2"))
    assert (staged.title, staged.doc_meta.version, staged.warnings) == ("Zorblax", "2", [])


def test_publish_ask_and_retire(tmp_path: Path, advisor: Advisor, audit: AuditLog) -> None:
    service, untracked = DocumentService(advisor, audit), DocumentService(advisor)
    md = upload(tmp_path, "Zorblax Guide.md", ZORBLAX)
    meta = build_meta(
        title="Zorblax shipping guide", version="1.0", effective_date="2026-05-01", owner="ECO"
    )
    done = service.publish(md, meta, user="alice")
    assert done.source == "corpus/uploads/zorblax-guide.md"
    target = advisor.settings.corpus_dir / "uploads" / "zorblax-guide.md"
    sidecar = target.with_name("zorblax-guide.md.meta.yaml")
    assert target.read_text(encoding="utf-8") == ZORBLAX
    assert yaml.safe_load(sidecar.read_text(encoding="utf-8"))["owner"] == "ECO"
    assert {p.name for p in target.parent.iterdir()} == {target.name, sidecar.name}
    row = next(r for r in render.document_table(service.rows()) if r[0] == done.source)
    assert row[1:] == [
        "Zorblax shipping guide",
        "guidance",
        "general",
        "1.0",
        "2026-05-01",
        1,
        "uploaded",
    ]
    answer = advisor.ask("Can a zorblax widget be exported to Canada without a licence?")
    cited = next(c for c in answer.citations if c.source == done.source)
    assert cited.version == "1.0"

    with pytest.raises(InputError, match="already published"):
        untracked.publish(md, meta)
    newer = untracked.publish(
        md, meta.model_copy(update={"version": "1.1"}), policy=ReplacePolicy.REPLACE
    )
    assert newer.replaced and newer.report.updated == 1
    assert advisor.ask("zorblax widget exported to Canada").citations[0].version == "1.1"

    retired = service.retire(done.source, user="alice")
    message = render.retired(retired)
    assert "Retired" in message and "removed from the index" in message
    assert retired.removed
    assert not target.exists() and not sidecar.exists()
    assert done.source not in advisor.store.document_hashes()
    answer = advisor.ask("Can a zorblax widget be exported to Canada without a licence?")
    assert all(c.source != done.source for c in answer.citations)
    # A full sync does not bring it back.
    report = untracked.sync().report
    assert done.source not in advisor.store.document_hashes() and report.added == 0

    recorded = events(audit)
    assert [e["event"] for e in recorded] == ["document_published", "document_retired"]
    assert recorded[0]["user"] == "alice"
    assert recorded[0]["detail"]["source"] == done.source
    assert recorded[0]["detail"]["chunks"] == 1
    assert recorded[1]["detail"]["shipped"] is False
    assert audit.verify().ok


def test_failed_publish_leaves_the_index_and_files_as_they_were(
    tmp_path: Path, advisor: Advisor, monkeypatch
) -> None:
    service = DocumentService(advisor)
    md = upload(tmp_path, "guide.md", ZORBLAX)
    first = service.publish(md, UploadMeta(version="1"))
    before = index_state(advisor)
    target = advisor.settings.corpus_dir / "uploads" / "guide.md"
    old_files = {p.name: p.read_bytes() for p in target.parent.iterdir()}

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")

    monkeypatch.setattr(advisor.store.embeddings, "embed_documents", broken)
    newer = upload(tmp_path, "guide.md", ZORBLAX.replace("Canada", "Mexico"))
    with pytest.raises(RuntimeError, match="embedding service down"):
        service.publish(newer, UploadMeta(version="2"), policy=ReplacePolicy.REPLACE)
    assert index_state(advisor) == before
    assert {p.name: p.read_bytes() for p in target.parent.iterdir()} == old_files

    fresh = upload(tmp_path, "other.md", ZORBLAX)
    with pytest.raises(RuntimeError, match="embedding service down"):
        service.publish(fresh)
    assert index_state(advisor) == before
    assert not (target.parent / "other.md").exists()
    assert first.source in advisor.store.document_hashes()


def test_retire_refuses_outside_unknown_and_unconfirmed_shipped(
    advisor: Advisor, audit: AuditLog
) -> None:
    untracked = DocumentService(advisor)
    before = index_state(advisor)
    with pytest.raises(InputError, match="outside the corpus folder"):
        untracked.retire("corpus/../../etc/passwd")
    with pytest.raises(InputError, match="outside the corpus folder"):
        untracked.retire("/etc/passwd")
    with pytest.raises(InputError, match="not in the index"):
        untracked.retire("corpus/guidance/nothing-here.md")
    with pytest.raises(InputError, match="choose a document"):
        untracked.retire(" ")
    shipped = "corpus/guidance/travel-basics.md"
    with pytest.raises(InputError, match="shipped document"):
        untracked.retire(shipped)
    assert index_state(advisor) == before
    path = advisor.settings.corpus_dir / "guidance" / "travel-basics.md"
    assert path.exists()
    DocumentService(advisor, audit).retire(
        shipped, policy=RetirePolicy.INCLUDING_SHIPPED, user="bob"
    )
    assert not path.exists() and shipped not in advisor.store.document_hashes()
    assert events(audit)[0]["detail"]["shipped"] is True


def test_retire_restores_the_file_when_the_index_fails(advisor: Advisor, monkeypatch) -> None:
    shipped = "corpus/guidance/travel-basics.md"
    path = advisor.settings.corpus_dir / "guidance" / "travel-basics.md"

    def broken(source: str) -> None:
        raise RuntimeError("index locked")

    monkeypatch.setattr(advisor.store, "delete_document", broken)
    with pytest.raises(RuntimeError, match="index locked"):
        DocumentService(advisor).retire(shipped, policy=RetirePolicy.INCLUDING_SHIPPED)
    assert path.exists() and shipped in advisor.store.document_hashes()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_sync_picks_up_files_added_on_disk(advisor: Advisor, audit: AuditLog) -> None:
    extra = advisor.settings.corpus_dir / "guidance" / "new-note.md"
    extra.write_text("# New note\n\nExports of gizmos need a licence.\n", encoding="utf-8")
    synced = DocumentService(advisor, audit).sync(user="alice")
    assert synced.report.added == 1 and "added 1" in render.synced(synced)
    assert events(audit)[0]["event"] == "corpus_synced"


def test_a_failed_audit_write_is_reported_not_raised(
    tmp_path: Path, advisor: Advisor, audit: AuditLog, monkeypatch
) -> None:
    """The change already happened: the result carries why it was not recorded."""

    def down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store offline")

    monkeypatch.setattr(audit, "record_event", down)
    done = DocumentService(advisor, audit).publish(upload(tmp_path, "guide.md", ZORBLAX))
    assert done.audit_failure == "audit store offline"
    assert done.source in advisor.store.document_hashes()
    assert "not recorded in the audit trail: audit store offline" in render.published(done)
