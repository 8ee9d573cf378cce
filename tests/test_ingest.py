from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.chain import build_ingestor
from advisor.errors import InputError
from advisor.ingest import discover, load_document, source_name
from advisor.store import open_store
from tests.conftest import TEST_CORPUS, make_settings, shared_path
from tests.fakes import CountingEmbeddings, HashEmbeddings

GOOD = """---
title: "A guide"
doc_type: checklist
jurisdiction: EU
topics: cloud
effective_date: 2026-05-01
version: 3
---
# A guide

## Section
Text of the section that cites Art. 5 of Regulation (EU) 2021/821 and is long enough.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_is_parsed(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "corpus" / "a.md", GOOD), tmp_path)
    assert doc.meta.title == "A guide"
    assert doc.meta.doc_type == "checklist"
    assert doc.meta.jurisdiction == "EU"
    assert doc.meta.topics == ["cloud"]
    assert doc.meta.version == "3"
    assert doc.meta.effective_date == "2026-05-01"
    assert doc.source == "corpus/a.md"
    assert "title:" not in doc.pages[0].text


@pytest.mark.parametrize(
    ("front", "needle"),
    [
        ("doc_type: memo", "doc_type"),
        ("jurisdiction: Mars", "jurisdiction"),
        ("colour: blue", "colour"),
        ("title: [unclosed", "not valid YAML"),
    ],
)
def test_bad_front_matter_names_file_and_field(tmp_path: Path, front: str, needle: str) -> None:
    path = write(tmp_path / "bad.md", f"---\n{front}\n---\n# T\n\nBody text.\n")
    with pytest.raises(InputError) as err:
        load_document(path, tmp_path)
    assert "bad.md" in str(err.value) and needle in str(err.value)


def test_plain_text_and_regulation_inference() -> None:
    path = TEST_CORPUS / "regulations" / "15-cfr-part-999-excerpt.txt"
    doc = load_document(path, TEST_CORPUS.parent)
    assert doc.meta.doc_type == "regulation"
    assert doc.meta.jurisdiction == "US-EAR"
    assert doc.cfr_title == 15


def test_empty_and_binary_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no text"):
        load_document(write(tmp_path / "empty.md", "---\ntitle: x\n---\n\n"), tmp_path)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="UTF-8"):
        load_document(binary, tmp_path)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(InputError, match="broken.pdf"):
        load_document(broken, tmp_path)


def test_every_shared_pdf_sample_yields_text_or_a_clear_reason() -> None:
    folder = shared_path("data", "pdf-samples")
    outcomes = {}
    for pdf in sorted(folder.glob("*.pdf")):
        try:
            doc = load_document(pdf, folder.parent)
            assert any(p.text.strip() for p in doc.pages)
            assert all(p.page is not None for p in doc.pages)
            outcomes[pdf.name] = ("text", doc.warnings)
        except InputError as exc:
            assert pdf.name in str(exc)
            outcomes[pdf.name] = ("skip", [str(exc)])
    assert len(outcomes) >= 10
    assert outcomes["libreoffice-writer-password.pdf"][0] == "skip"
    assert "password" in outcomes["libreoffice-writer-password.pdf"][1][0]
    kind, warnings = outcomes["imagemagick-images.pdf"]
    assert kind == "text" and any("no text layer" in w for w in warnings)
    assert outcomes["multicolumn.pdf"][0] == "text"


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    folder = shared_path("data", "pdf-samples")
    doc = load_document(folder / "pdflatex-4-pages.pdf", folder)
    assert [p.page for p in doc.pages] == [1, 2, 3, 4]


def test_sidecar_metadata_for_pdfs(tmp_path: Path) -> None:
    folder = shared_path("data", "pdf-samples")
    pdf = tmp_path / "memo.pdf"
    shutil.copy(folder / "minimal-document.pdf", pdf)
    write(tmp_path / "memo.pdf.meta.yaml", "title: Office memo\ndoc_type: faq\nversion: '7'\n")
    doc = load_document(pdf, tmp_path)
    assert (doc.meta.title, doc.meta.doc_type, doc.meta.version) == ("Office memo", "faq", "7")


def test_discover_skips_readmes_hidden_and_unsupported(tmp_path: Path) -> None:
    write(tmp_path / "README.md", "# readme")
    write(tmp_path / ".hidden" / "x.md", "# hidden")
    write(tmp_path / "rules" / "r.yaml", "rules: []")
    write(tmp_path / "a" / "doc.md", GOOD)
    assert [p.name for p in discover([tmp_path])] == ["doc.md"]


def test_source_names_do_not_depend_on_the_root(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus" / "guidance" / "x.md", GOOD)
    assert source_name(path, tmp_path) == "corpus/guidance/x.md"
    assert source_name(Path("/elsewhere/y.md"), tmp_path) == "/elsewhere/y.md"


def _store(tmp_path: Path, corpus: Path, embeddings):
    settings = make_settings(tmp_path, corpus_dir=corpus)
    store = open_store(settings, embeddings, create=True)
    return settings, store, build_ingestor(settings, store, progress=False)


def test_incremental_sync_add_unchanged_change_delete(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    fake = HashEmbeddings()
    _, store, ingestor = _store(tmp_path, corpus, fake)

    first = ingestor.sync([corpus])
    assert (first.added, first.updated, first.unchanged, first.removed) == (4, 0, 0, 0)
    ids = set(store.collection.get()["ids"])

    calls = fake.document_calls
    second = ingestor.sync([corpus])
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, 4, 0)
    assert second.chunks == first.chunks
    assert fake.document_calls == calls
    assert set(store.collection.get()["ids"]) == ids

    travel = corpus / "guidance" / "travel-basics.md"
    travel.write_text(
        travel.read_text() + "\n## Added\nA new paragraph about border searches of laptops.\n"
    )
    (corpus / "guidance" / "embargoes.md").unlink()
    third = ingestor.sync([corpus])
    assert (third.added, third.updated, third.unchanged, third.removed) == (0, 1, 2, 1)
    sources = set(store.document_hashes())
    assert "corpus/guidance/embargoes.md" not in sources
    assert third.documents == 3


def test_one_bad_file_does_not_stop_ingest_and_keeps_old_version(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    _, store, ingestor = _store(tmp_path, corpus, HashEmbeddings())
    ingestor.sync([corpus])
    before = store.document_hashes()["corpus/guidance/travel-basics.md"]
    (corpus / "guidance" / "travel-basics.md").write_text("---\ndoc_type: memo\n---\nbody\n")
    write(corpus / "guidance" / "new.md", GOOD)
    report = ingestor.sync([corpus])
    assert report.added == 1 and report.removed == 0
    assert any("travel-basics.md" in s for s in report.skipped)
    assert store.document_hashes()["corpus/guidance/travel-basics.md"] == before


def test_ingesting_one_file_uses_the_same_ids_as_the_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    _, store, ingestor = _store(tmp_path, corpus, HashEmbeddings())
    ingestor.sync([corpus])
    report = ingestor.sync([corpus / "guidance" / "travel-basics.md"])
    assert (report.added, report.unchanged, report.removed) == (0, 1, 0)
    assert report.documents == 4


def test_rebuild_starts_over(tmp_path: Path) -> None:
    _, store, ingestor = _store(tmp_path, TEST_CORPUS, HashEmbeddings())
    ingestor.sync([TEST_CORPUS])
    report = ingestor.sync([TEST_CORPUS], rebuild=True)
    assert report.added == 4 and report.unchanged == 0


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    _, _, ingestor = _store(tmp_path, TEST_CORPUS, HashEmbeddings())
    with pytest.raises(InputError, match="nothing to ingest"):
        ingestor.sync([tmp_path / "nope"])


@pytest.mark.slow
def test_real_model_ingest_is_idempotent(tmp_path: Path, real_embeddings) -> None:
    counting = CountingEmbeddings(real_embeddings)
    _, store, ingestor = _store(tmp_path, TEST_CORPUS, counting)
    first = ingestor.sync([TEST_CORPUS])
    embedded = counting.texts
    assert embedded == first.chunks > 0
    second = ingestor.sync([TEST_CORPUS])
    assert second.unchanged == 4 and counting.texts == embedded


@pytest.mark.slow
def test_shared_regulations_keep_section_metadata(tmp_path: Path) -> None:
    path = shared_path("data", "regulations", "15-cfr-part-746.md")
    from advisor.chunking import Chunker

    chunks = Chunker().split(load_document(path, path.parent))
    labels = {c.section_label for c in chunks}
    assert "15 CFR 746.6" in labels and "15 CFR 746.8" in labels
    crimea = [c for c in chunks if c.section == "746.6"]
    assert any("Crimea" in c.text for c in crimea)
