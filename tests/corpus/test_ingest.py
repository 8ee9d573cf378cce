from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.chain import build_ingestor
from advisor.corpus.ingest import discover, load_document, source_name
from advisor.corpus.store import open_store
from advisor.errors import InputError
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
    from advisor.corpus.chunking import Chunker

    chunks = Chunker().split(load_document(path, path.parent))
    labels = {c.section_label for c in chunks}
    assert "15 CFR 746.6" in labels and "15 CFR 746.8" in labels
    crimea = [c for c in chunks if c.section == "746.6"]
    assert any("Crimea" in c.text for c in crimea)


# ------------------------------------------------------------- one bad file (finding 6)


@pytest.mark.parametrize(
    ("name", "text", "sidecar", "needle"),
    [
        (
            "date.md",
            "---\ntitle: T\neffective_date: 2026-13-45\n---\n# T\n\nBody.\n",
            None,
            "2026-13-45",
        ),
        ("words.md", "---\neffective_date: next spring\n---\n# T\n\nBody.\n", None, "YYYY-MM-DD"),
        ("yaml.md", "---\ntitle: [unclosed\n---\n# T\n\nBody.\n", None, "not valid YAML"),
        ("memo.md", "# Memo\n\nBody text.\n", "title: [broken\n", "not valid YAML"),
        ("list.md", "# Memo\n\nBody text.\n", "- just\n- a list\n", "mapping"),
        ("bad-date-sidecar.md", "# Memo\n\nBody.\n", "effective_date: 2026-02-30\n", "2026-02-30"),
    ],
)
def test_a_bad_corpus_file_is_skipped_with_its_name_and_reason(
    tmp_path: Path, name: str, text: str, sidecar: str | None, needle: str
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    bad = write(corpus / "guidance" / name, text)
    if sidecar is not None:
        write(bad.with_name(bad.name + ".meta.yaml"), sidecar)
    with pytest.raises(InputError) as err:
        load_document(bad, tmp_path)
    assert name in str(err.value) and needle in str(err.value)
    _, store, ingestor = _store(tmp_path, corpus, HashEmbeddings())
    report = ingestor.sync([corpus])
    assert report.added == 4 and report.documents == 4
    assert len(report.skipped) == 1 and name in report.skipped[0] and needle in report.skipped[0]
    assert f"corpus/guidance/{name}" not in store.document_hashes()


def test_valid_dates_are_kept_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\neffective_date: 2026-02-28\nversion: 2.10\n---\nBody.\n")
    meta = load_document(path, tmp_path).meta
    assert (meta.effective_date, meta.version) == ("2026-02-28", "2.1")


# ------------------------------------------------------------- interrupted writes (finding 4)


def _stored(store) -> dict[str, tuple[str, dict]]:
    got = store.collection.get(include=["documents", "metadatas"])
    return {
        i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }


def test_a_half_written_document_is_repaired_by_the_next_sync(tmp_path: Path) -> None:
    fake = HashEmbeddings()
    _, store, ingestor = _store(tmp_path, TEST_CORPUS, fake)
    ingestor.sync([TEST_CORPUS])
    clean = _stored(store)
    source = "corpus/guidance/travel-basics.md"
    ids = [i for i, (_, m) in clean.items() if m["source"] == source]
    assert len(ids) >= 2
    store.collection.delete(ids=ids[1:])  # what a kill between batches leaves
    state = store.document_states()[source]
    assert not state.complete and state.stored == 1 and state.expected == {len(ids)}
    assert store.document_hashes()[source] == ""

    calls = fake.document_calls
    report = ingestor.sync([TEST_CORPUS])
    assert report.repaired == [source]
    assert (report.updated, report.unchanged) == (1, 3)
    assert any(source in w and "interrupted" in w for w in report.warnings)
    assert _stored(store) == clean
    assert fake.document_calls == calls + 1  # only the missing chunks were embedded
    again = ingestor.sync([TEST_CORPUS])
    assert (again.unchanged, again.repaired) == (4, [])


def test_leftover_chunks_of_an_interrupted_update_are_removed(tmp_path: Path) -> None:
    _, store, ingestor = _store(tmp_path, TEST_CORPUS, HashEmbeddings())
    ingestor.sync([TEST_CORPUS])
    clean = _stored(store)
    doc, meta = next(iter(clean.values()))
    # A chunk of an older version that an interrupted update had not yet deleted.
    old = {**meta, "doc_hash": "an older version", "version": "0.9"}
    store.collection.add(
        ids=["leftover"], documents=[doc], metadatas=[old], embeddings=[[0.1] * 64]
    )
    assert not store.document_states()[meta["source"]].complete
    report = ingestor.sync([TEST_CORPUS])
    assert report.repaired == [meta["source"]]
    assert _stored(store) == clean


def test_a_field_removed_from_front_matter_is_removed_from_every_chunk(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    doc = write(corpus / "a.md", GOOD)
    _, store, ingestor = _store(tmp_path, corpus, HashEmbeddings())
    ingestor.sync([corpus])
    doc.write_text(GOOD.replace("version: 3\n", ""))
    assert ingestor.sync([corpus]).updated == 1
    assert all("version" not in m for _, m in _stored(store).values())


def test_an_index_without_chunk_counts_is_checked_without_re_embedding(tmp_path: Path) -> None:
    fake = HashEmbeddings()
    _, store, ingestor = _store(tmp_path, TEST_CORPUS, fake)
    ingestor.sync([TEST_CORPUS])
    got = store.collection.get(include=["metadatas"])
    legacy = got["metadatas"]
    store.collection.update(ids=got["ids"], metadatas=[{"doc_chunks": None} for _ in legacy])
    assert all("doc_chunks" not in m for m in store.collection.get()["metadatas"])
    calls = fake.document_calls
    report = ingestor.sync([TEST_CORPUS])
    assert report.unchanged == 4 and report.repaired == []
    assert fake.document_calls == calls
    assert all(s.complete for s in store.document_states().values())


def test_a_writer_on_another_process_blocks_sync_with_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    settings, _, ingestor = _store(tmp_path, TEST_CORPUS, HashEmbeddings())
    ingestor.store.write_lock.timeout = 0.3  # type: ignore[union-attr]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from pathlib import Path\n"
            "from advisor.corpus.locks import WriteLock\n"
            "with WriteLock(Path(sys.argv[1]), 5).hold('ingest of corpus'):\n"
            "    print('held', flush=True); time.sleep(30)",
            str(settings.data_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        from advisor.errors import StoreError

        with pytest.raises(StoreError, match=f"another ingest is running \\(pid {holder.pid}"):
            ingestor.sync([TEST_CORPUS])
        assert ingestor.store.counts() == (0, 0)  # readers keep working
    finally:
        holder.kill()
        holder.wait()
    assert ingestor.sync([TEST_CORPUS]).added == 4
