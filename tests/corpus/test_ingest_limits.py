"""Budgets on what one document may cost (finding 7): real compressed PDF bombs, built here."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from advisor.chain import build_ingestor
from advisor.corpus.ingest import MB, DocumentLimits, load_document
from advisor.corpus.store import open_store
from advisor.errors import InputError
from tests.conftest import make_settings
from tests.fakes import HashEmbeddings

HELVETICA = DictionaryObject(
    {
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }
)


def text_ops(lines: int, words: str = "Export control text about licences") -> bytes:
    """Many small text operators: the expensive kind to extract, and very compressible."""
    line = f"({words}) Tj 0 -14 Td\n".encode()
    return b"BT /F1 12 Tf 72 720 Td\n" + line * lines + b"ET"


def pdf_bomb(path: Path, pages: int, content: bytes) -> Path:
    """A real PDF whose pages carry ``content``, Flate-compressed at level 9."""
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): HELVETICA})}
        )
        stream = DecodedStreamObject()
        stream.set_data(content)
        page.replace_contents(stream)
        page.compress_content_streams(level=9)
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_the_bomb_fixture_is_small_on_disk_and_large_inside(tmp_path: Path) -> None:
    pdf = pdf_bomb(tmp_path / "bomb.pdf", 200, text_ops(2500))
    assert pdf.stat().st_size < 200_000
    reader = PdfReader(pdf)
    inside = sum(len(p.get_contents().get_data()) for p in reader.pages)  # type: ignore[union-attr]
    assert inside > 20 * MB
    assert "Export control text" in reader.pages[0].extract_text()


def test_a_decompression_bomb_is_refused_before_any_text_is_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = pdf_bomb(tmp_path / "bomb.pdf", 200, text_ops(2500))  # ~22 MB of operators
    extracted: list[int] = []
    real = PageObject.extract_text

    def counting(self: PageObject, *args: Any, **kwargs: Any) -> str:
        extracted.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PageObject, "extract_text", counting)
    with pytest.raises(InputError) as err:
        load_document(pdf, tmp_path)
    message = str(err.value)
    assert "bomb.pdf" in message and "ADVISOR_MAX_PDF_CONTENT_MB" in message
    assert "by page " in message
    assert extracted == []


def test_text_over_the_character_budget_stops_extraction_early(tmp_path: Path) -> None:
    # 40 pages of about 95,000 characters each; the budget is reached on page 11.
    pdf = pdf_bomb(
        tmp_path / "long.pdf", 40, b"BT /F1 12 Tf 72 720 Td (" + b"x" * 95_000 + b") Tj ET"
    )
    limits = DocumentLimits(max_chars=1_000_000)
    with pytest.raises(
        InputError, match=r"long\.pdf: more than 1,000,000 characters .* by page 11"
    ):
        load_document(pdf, tmp_path, limits)


def test_too_many_pages_is_refused_from_the_page_count(tmp_path: Path) -> None:
    pdf = pdf_bomb(tmp_path / "pages.pdf", 30, text_ops(3))
    with pytest.raises(
        InputError, match=r"30 pages is over the limit of 20 \(ADVISOR_MAX_PDF_PAGES\)"
    ):
        load_document(pdf, tmp_path, DocumentLimits(max_pdf_pages=20))
    assert len(load_document(pdf, tmp_path).pages) == 30


def test_one_huge_stream_is_cut_off_by_the_decompression_cap(tmp_path: Path) -> None:
    pdf = pdf_bomb(tmp_path / "one.pdf", 1, text_ops(60_000))  # one stream of ~2.5 MB
    with pytest.raises(InputError, match="ADVISOR_MAX_PDF_CONTENT_MB"):
        load_document(pdf, tmp_path, DocumentLimits(max_pdf_content_bytes=1 * MB))


def test_a_long_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    path.write_text("# Long\n\n" + "A sentence about export controls. " * 40_000)
    with pytest.raises(InputError, match="ADVISOR_MAX_DOCUMENT_CHARS"):
        load_document(path, tmp_path, DocumentLimits(max_chars=1_000_000))


def test_the_chunk_budget_skips_the_document_and_ingest_goes_on(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.md").write_text(
        "# Big\n\n" + "\n\n".join(f"Paragraph {i} about deemed exports." * 12 for i in range(80))
    )
    (corpus / "small.md").write_text(
        "# Small\n\nA short note on licence exceptions for travel with a laptop abroad.\n"
    )
    settings = make_settings(tmp_path, corpus_dir=corpus, max_chunks_per_document=20)
    store = open_store(settings, HashEmbeddings(), create=True)
    ingestor = build_ingestor(settings, store, progress=False)
    ingestor.limits = DocumentLimits.from_settings(settings)
    report = ingestor.sync([corpus])
    assert report.added == 1
    assert len(report.skipped) == 1 and "big.md" in report.skipped[0]
    assert "over the limit of 20 per document" in report.skipped[0]
    assert list(store.document_hashes()) == ["corpus/small.md"]


def test_limits_come_from_settings(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        max_pdf_pages=7,
        max_pdf_content_mb=1.5,
        max_document_chars=5000,
        max_chunks_per_document=9,
    )
    assert DocumentLimits.from_settings(settings) == DocumentLimits(
        max_pdf_pages=7, max_pdf_content_bytes=int(1.5 * MB), max_chars=5000, max_chunks=9
    )
    defaults = DocumentLimits.from_settings(make_settings(tmp_path))
    assert defaults == DocumentLimits()


def test_a_bomb_uploaded_in_the_compliance_tab_is_refused_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    import shutil

    from advisor.chain import build_advisor
    from advisor.services.documents import UPLOADS, DocumentService
    from tests.conftest import RULES, TEST_CORPUS

    shutil.copytree(TEST_CORPUS, tmp_path / "corpus")
    settings = make_settings(
        tmp_path, corpus_dir=tmp_path / "corpus", rules_dir=RULES, max_pdf_pages=50
    )
    advisor = build_advisor(settings, embeddings=HashEmbeddings())
    before = advisor.store.document_hashes()
    bomb = pdf_bomb(tmp_path / "report.pdf", 80, text_ops(3))
    with pytest.raises(InputError, match=r"report\.pdf: 80 pages is over the limit of 50"):
        DocumentService(advisor).publish(bomb)
    dense = pdf_bomb(tmp_path / "dense.pdf", 40, text_ops(6000))
    with pytest.raises(InputError, match=r"dense\.pdf: .*ADVISOR_MAX_PDF_CONTENT_MB"):
        DocumentService(advisor).preview(dense)
    assert advisor.store.document_hashes() == before
    assert not (tmp_path / "corpus" / UPLOADS / "report.pdf").exists()
