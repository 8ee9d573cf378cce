"""Provenance: what produced a report (rules, writer, embeddings, commit, case and corpus files)."""

from __future__ import annotations

from pathlib import Path

from advisor.evaluation.provenance import corpus_files_sha256, git_commit
from tests.evaluation.builders import FakeAdvisor, make_report


def test_run_uses_one_advisor_and_records_provenance(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    assert len(fake.questions) == 3
    assert report.summary.model_dump() == {"cases": 3, "passed": 3, "failed": 0, "pass_rate": 1.0}
    rows = {row.id: row for row in report.cases}
    assert [f.model_dump(mode="json") for f in rows["iran-kit"].flags] == [
        {"id": "embargo", "level": "prohibited", "citation": "15 CFR 746.7"}
    ]
    assert [c.model_dump() for c in rows["fr-basics"].citations] == [
        {"n": 1, "title": "FR", "section": "15 CFR 734.8"}
    ]
    p = report.produced_by
    assert p.rules_hash == "rules0001"
    assert p.prompt_version == "none" and p.writer == "extractive"
    assert p.embedding_model == "all-MiniLM-L6-v2" and p.git_commit == "abc123"
    assert len(next(iter(p.case_files.values()))) == 64
    before = p.corpus_files_sha256
    (fake.settings.corpus_dir / "rules" / "r.yaml").write_text("x")
    assert corpus_files_sha256(fake.settings.corpus_dir) == before  # rules/ is excluded
    (fake.settings.corpus_dir / "guide.md").write_text("# Changed\n")
    assert corpus_files_sha256(fake.settings.corpus_dir) != before


def test_corpus_files_hash_skips_hidden_files_and_a_missing_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert corpus_files_sha256(corpus) == "missing"
    corpus.mkdir()
    (corpus / "a.md").write_text("A")
    before = corpus_files_sha256(corpus)
    (corpus / ".cache").mkdir()
    (corpus / ".cache" / "x").write_text("noise")
    (corpus / "screening").mkdir()
    (corpus / "screening" / "list.csv").write_text("name")
    assert corpus_files_sha256(corpus) == before
    (corpus / "a.md").rename(corpus / "b.md")
    assert corpus_files_sha256(corpus) != before  # the path is part of the hash


def test_git_commit_outside_the_fixture_is_a_commit_or_unknown() -> None:
    """The autouse fixture replaces the module's function; the real one still answers."""
    from advisor.evaluation import provenance

    assert provenance.git_commit() == "abc123"
    commit = git_commit()
    assert commit == "unknown" or len(commit) == 40
