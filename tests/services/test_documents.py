"""Publishing, retiring and syncing corpus documents (advisor.services.documents).

Fake embeddings everywhere; the corpus is a copy in tmp_path, so nothing here touches the
repository's files.
"""

from __future__ import annotations

import hashlib
import os
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
    DocumentRow,
    DocumentService,
    ReplacePolicy,
    RetirePolicy,
    UploadMeta,
    build_meta,
    check_upload,
    newest_first,
    safe_name,
    search_rows,
)
from advisor.ui.render import admin as render
from advisor.yamlfile import sidecar_path
from tests.conftest import shared_path
from tests.services.support import ZORBLAX, events, index_state, two_page_pdf, upload

FULL = UploadMeta(
    title="Zorblax shipping guide", effective_date="2026-05-01", version="1.0", owner="ECO"
)


def previewed(service: DocumentService, path: Path, meta: UploadMeta = FULL) -> str:
    """The token of a successful preview, as the page keeps it for the publish button."""
    staged = service.preview(path, meta)
    assert staged.token is not None, staged.missing
    return staged.token


def publish(
    service: DocumentService, path: Path, meta: UploadMeta = FULL, **kw: object
) -> documents.Published:
    """Preview, then publish exactly what was previewed."""
    return service.publish(path, meta, token=previewed(service, path, meta), **kw)  # type: ignore[arg-type]


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
    for bad in ("31/01/2026", "20260131", "2026-W05-1", "2026-02-30", "2026-1-5"):
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            build_meta(effective_date=bad)
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
    meta = FULL.model_copy(update={"version": "7"})
    done = publish(DocumentService(advisor), upload(tmp_path, "guide.md", ZORBLAX), meta)
    target = advisor.settings.corpus_dir.parent / done.source
    assert yaml.safe_load(sidecar_path(target).read_text(encoding="utf-8")) == {
        "title": "Zorblax shipping guide",
        "effective_date": "2026-05-01",
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
    assert "Quibbleton" in text and "First 1 of 1 chunk(s)" in text and "page 1" in text
    assert staged.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert staged.replaces is None and "replaces nothing" in text
    assert not staged.folder.exists()  # nothing kept
    assert not service.uploads_dir.exists()
    md = upload(tmp_path, "guide.md", ZORBLAX)
    staged = service.preview(md, build_meta(title="Zorblax", version="2"))
    assert (staged.title, staged.doc_meta.version, staged.warnings) == ("Zorblax", "2", [])
    (first,) = staged.first_chunks
    assert first.heading_path.endswith("Shipping zorblax widgets")
    assert first.text.startswith("A zorblax widget may be exported")


def test_publish_ask_and_retire(tmp_path: Path, advisor: Advisor, audit: AuditLog) -> None:
    service, untracked = DocumentService(advisor, audit), DocumentService(advisor)
    md = upload(tmp_path, "Zorblax Guide.md", ZORBLAX)
    meta = build_meta(
        title="Zorblax shipping guide", version="1.0", effective_date="2026-05-01", owner="ECO"
    )
    done = publish(service, md, meta, user="alice")
    assert done.source == "corpus/uploads/zorblax-guide.md"
    target = advisor.settings.corpus_dir / "uploads" / "zorblax-guide.md"
    sidecar = target.with_name("zorblax-guide.md.meta.yaml")
    assert target.read_text(encoding="utf-8") == ZORBLAX
    assert yaml.safe_load(sidecar.read_text(encoding="utf-8"))["owner"] == "ECO"
    assert {p.name for p in target.parent.iterdir()} == {target.name, sidecar.name}
    rows = service.rows()
    assert rows[0].source == done.source  # newest first
    assert render.document_table(rows)[0][1:] == [
        "**Zorblax shipping guide**\nversion 1.0 · ECO",
        done.source,
    ]
    assert render.document_table(rows)[0][0] == rows[0].updated.strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
    row = rows[0]
    assert (row.doc_type, row.jurisdiction, row.effective_date, row.chunks, row.origin) == (
        "guidance",
        "general",
        "2026-05-01",
        1,
        "uploaded",
    )
    assert row.published_by == "alice" and row.published_at is not None
    answer = advisor.ask("Can a zorblax widget be exported to Canada without a licence?")
    cited = next(c for c in answer.citations if c.source == done.source)
    assert cited.version == "1.0"

    with pytest.raises(InputError, match="already published"):
        publish(untracked, md, meta)
    newer = publish(
        untracked, md, meta.model_copy(update={"version": "1.1"}), policy=ReplacePolicy.REPLACE
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
    first = publish(service, md, FULL.model_copy(update={"version": "1"}))
    before = index_state(advisor)
    target = advisor.settings.corpus_dir / "uploads" / "guide.md"
    old_files = {p.name: p.read_bytes() for p in target.parent.iterdir()}

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")

    monkeypatch.setattr(advisor.store.embeddings, "embed_documents", broken)
    newer = upload(tmp_path, "guide.md", ZORBLAX.replace("Canada", "Mexico"))
    with pytest.raises(RuntimeError, match="embedding service down"):
        publish(
            service, newer, FULL.model_copy(update={"version": "2"}), policy=ReplacePolicy.REPLACE
        )
    assert index_state(advisor) == before
    assert {p.name: p.read_bytes() for p in target.parent.iterdir()} == old_files

    fresh = upload(tmp_path, "other.md", ZORBLAX)
    with pytest.raises(RuntimeError, match="embedding service down"):
        publish(service, fresh)
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
    done = publish(DocumentService(advisor, audit), upload(tmp_path, "guide.md", ZORBLAX))
    assert done.audit_failure == "audit store offline"
    assert done.source in advisor.store.document_hashes()
    assert "not recorded in the audit trail: audit store offline" in render.published(done)


# --------------------------------------------------------------------------- required metadata


def test_a_pdf_without_metadata_is_refused_naming_each_missing_field(
    tmp_path: Path, advisor: Advisor
) -> None:
    """The issue: a PDF with no date, version or owner was published without a preview."""
    service = DocumentService(advisor)
    pdf = upload(tmp_path, "memo.pdf", two_page_pdf(tmp_path / "memo.pdf").read_bytes())
    before = index_state(advisor)
    staged = service.preview(pdf, UploadMeta())
    assert staged.missing == ("title", "effective date", "version", "owner")
    assert staged.token is None and not staged.ready
    shown = render.preview(staged)
    assert "Not ready to publish" in shown
    assert "without its title, effective date, version, owner" in shown
    for token in (None, "0" * 64):
        with pytest.raises(InputError) as refused:
            service.publish(pdf, UploadMeta(), token=token)
        assert "memo.pdf: cannot be published without its title, effective date, version, " in str(
            refused.value
        )
    partly = UploadMeta(title="Quibbleton memo", version="3")
    assert service.preview(pdf, partly).missing == ("effective date", "owner")
    with pytest.raises(InputError, match=r"without its effective date, owner\. Fill in these"):
        service.publish(pdf, partly)
    only_owner = partly.model_copy(update={"effective_date": "2026-04-01"})
    with pytest.raises(InputError, match=r"without its owner\. Fill in this field"):
        service.publish(pdf, only_owner)
    assert index_state(advisor) == before
    assert not service.uploads_dir.exists() or list(service.uploads_dir.iterdir()) == []
    assert pdf.exists()  # the upload is kept for the next try

    done = publish(service, pdf, only_owner.model_copy(update={"owner": "Export office"}))
    assert done.staged.doc_meta.owner == "Export office"


def test_metadata_the_file_carries_counts(tmp_path: Path, advisor: Advisor) -> None:
    """Front matter gives the fields; the title taken from the file name does not count."""
    service = DocumentService(advisor)
    front = (
        "---\ntitle: Zorblax rules\neffective_date: 2026-02-01\nversion: '4'\nowner: ECO\n---\n"
        + ZORBLAX
    )
    staged = service.preview(upload(tmp_path, "rules.md", front), UploadMeta())
    assert staged.missing == () and staged.token is not None
    assert (staged.title, staged.doc_meta.version) == ("Zorblax rules", "4")
    bare = service.preview(upload(tmp_path, "zorblax-guide.md", ZORBLAX), UploadMeta())
    assert bare.title == "Zorblax guide"  # the loader's fallback, from the file name...
    assert bare.missing[0] == "title"  # ...is not a title anyone chose


def test_publish_without_a_preview_is_refused(tmp_path: Path, advisor: Advisor) -> None:
    service = DocumentService(advisor)
    md = upload(tmp_path, "guide.md", ZORBLAX)
    before = index_state(advisor)
    with pytest.raises(InputError, match="guide.md: check and preview it first"):
        service.publish(md, FULL)
    with pytest.raises(InputError, match="changed since the preview"):
        service.publish(md, FULL, token="f" * 64)
    elsewhere = DocumentService(advisor).preview(md, FULL).token  # another service, other key
    with pytest.raises(InputError, match="changed since the preview"):
        service.publish(md, FULL, token=elsewhere)
    assert index_state(advisor) == before
    assert service.publish(md, FULL, token=previewed(service, md)).source.endswith("guide.md")


def test_publish_after_the_file_or_metadata_changed_is_refused(
    tmp_path: Path, advisor: Advisor
) -> None:
    service = DocumentService(advisor)
    md = upload(tmp_path, "guide.md", ZORBLAX)
    token = previewed(service, md)
    before = index_state(advisor)
    changed_meta = FULL.model_copy(update={"version": "1.1"})
    changed_file = upload(tmp_path, "guide.md", ZORBLAX.replace("Canada", "Mexico"))
    renamed = upload(tmp_path, "other-name.md", ZORBLAX)
    for path, meta in ((md, changed_meta), (changed_file, FULL), (renamed, FULL)):
        with pytest.raises(InputError, match="changed since the preview; check and preview"):
            service.publish(path, meta, token=token)
    md.write_text(ZORBLAX + "\nOne more line.\n", encoding="utf-8")  # edited in place
    with pytest.raises(InputError, match="changed since the preview"):
        service.publish(md, FULL, token=token)
    assert index_state(advisor) == before
    md.write_text(ZORBLAX, encoding="utf-8")  # back to what was previewed: the token holds
    assert service.publish(md, FULL, token=token).report.added == 1


def test_the_preview_says_what_it_replaces(tmp_path: Path, advisor: Advisor) -> None:
    service = DocumentService(advisor)
    publish(service, upload(tmp_path, "guide.md", ZORBLAX))
    again = service.preview(upload(tmp_path, "guide.md", ZORBLAX.replace("sea", "air")), FULL)
    assert again.replaces is not None
    assert (again.replaces.source, again.replaces.version, again.replaces.indexed) == (
        "corpus/uploads/guide.md",
        "1.0",
        True,
    )
    text = render.preview(again)
    assert "**replaces** corpus/uploads/guide.md: Zorblax shipping guide, version 1.0" in text
    assert "Ready to publish" in text


# --------------------------------------------------------------------------- the table


def _age(path: Path, days: int) -> None:
    stamp = 1_700_000_000 - days * 86_400
    os.utime(path, (stamp, stamp))


def test_rows_are_newest_first_and_searchable(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    corpus = advisor.settings.corpus_dir
    for days, name in enumerate(
        [
            "guidance/travel-basics.md",
            "guidance/embargoes.md",
            "guidance/fundamental-research-basics.md",
            "regulations/15-cfr-part-999-excerpt.txt",
        ]
    ):
        _age(corpus / name, days + 1)  # travel newest of the shipped ones
    service = DocumentService(advisor, audit)
    first = publish(
        service,
        upload(tmp_path, "quibbleton.md", ZORBLAX.replace("Zorblax", "Quibbleton")),
        UploadMeta(
            title="Quibbleton memo",
            effective_date="2026-01-01",
            version="2",
            owner="Research Security",
            topics=("sensors", "shipping"),
        ),
        user="bob",
    )
    second = publish(service, upload(tmp_path, "zorblax.md", ZORBLAX), user="alice")
    rows = service.rows()
    assert [r.source for r in rows[:3]] == [
        second.source,
        first.source,
        "corpus/guidance/travel-basics.md",
    ]
    assert rows[3].source == "corpus/guidance/embargoes.md"
    assert [r.updated for r in rows] == sorted((r.updated for r in rows), reverse=True)
    by_source = {r.source: r for r in rows}
    assert by_source[first.source].published_by == "bob"
    assert by_source[first.source].topics == ("sensors", "shipping")
    shipped = by_source["corpus/guidance/embargoes.md"]
    assert shipped.published_at is None and shipped.topics == ("embargoes",)
    assert shipped.source_refs == ("15 CFR 746.6", "15 CFR 746.7")

    def found(query: str) -> list[str]:
        return [r.source for r in service.rows(query)]

    assert found("research security") == [first.source]  # owner, every word
    assert found("SENSORS") == [first.source]  # topic, any case
    assert found("embargoes") == ["corpus/guidance/embargoes.md"]  # topic and source
    assert found("zorblax shipping") == [second.source]  # title words
    assert found("uploads/") == [second.source, first.source]  # source, order kept
    assert found("eco") == [second.source]
    assert found("no such words") == []
    assert found("  ") == [r.source for r in rows]
    assert search_rows(rows, "travel") == [by_source["corpus/guidance/travel-basics.md"]]


def test_sort_ties_go_by_source() -> None:
    def row(source: str) -> DocumentRow:
        return DocumentRow(source, "", "", "", "", "", 1, "shipped")

    assert [r.source for r in newest_first([row("b"), row("a")])] == ["a", "b"]


def test_the_detail_has_every_field(tmp_path: Path, advisor: Advisor, audit: AuditLog) -> None:
    service = DocumentService(advisor, audit)
    meta = FULL.model_copy(
        update={"topics": ("zorblax", "widgets"), "source_refs": ("test rule 999.7",)}
    )
    done = publish(service, upload(tmp_path, "guide.md", ZORBLAX), meta, user="alice")
    detail = service.detail(done.source)
    file = advisor.settings.corpus_dir.parent / done.source
    assert detail.sha256 == hashlib.sha256(file.read_bytes()).hexdigest() == done.sha256
    text = render.document_detail(detail)
    for expected in (
        "**Source:** corpus/uploads/guide.md (uploaded)",
        "**Type:** guidance",
        "**Jurisdiction:** general",
        "**Topics:** zorblax, widgets",
        "**Source references:** test rule 999.7",
        "**Effective date:** 2026-05-01",
        "**Version:** 1.0",
        "**Owner:** ECO",
        f"**sha256:** {done.sha256}",
        "**Chunks:** 1",
        "UTC by alice",
    ):
        assert expected in text, expected
    shipped = render.document_detail(service.detail("corpus/guidance/embargoes.md"))
    assert "**Owner:** —" in shipped and "not published here" in shipped
    with pytest.raises(InputError, match="not in the index"):
        service.detail("corpus/guidance/nothing.md")
    # An edited sidecar shows at once (the cache is keyed by the sidecar too).
    sidecar = sidecar_path(file)
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(yaml.safe_dump(data | {"owner": "Someone else"}), encoding="utf-8")
    assert service.detail(done.source).row.owner == "Someone else"


def test_file_facts_are_read_without_failing_on_a_broken_file(tmp_path: Path) -> None:
    """The table must list a document whose metadata broke on disk after it was indexed."""
    note = tmp_path / "note.md"
    note.write_text("---\nowner: [unclosed\n---\n# Note\n", encoding="utf-8")
    assert documents.read_file_facts(note).owner == ""
    note.write_text("---\nowner: ECO\ntopics: travel\n---\n# Note\n", encoding="utf-8")
    sidecar_path(note).write_text("source_refs: [15 CFR 740.14]\nowner: Office\n", "utf-8")
    facts = documents.read_file_facts(note)
    assert (facts.owner, facts.topics, facts.source_refs) == (
        "Office",
        ("travel",),
        ("15 CFR 740.14",),
    )
    assert facts.modified is not None
    assert documents.read_file_facts(tmp_path / "gone.md").modified is None
