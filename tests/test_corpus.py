"""The shipped corpus: parses, is cited, covers what the issue lists, and titles are unique."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from advisor.corpus.ingest import discover, load_document
from tests.conftest import REPO

CORPUS = REPO / "corpus"
DOCS = sorted(discover([CORPUS]))
REFERENCE = re.compile(
    r"\b(?:\d{1,2} CFR \d{1,3}\.\d+|\d{3}\.\d{1,3}|[0-9][A-E]\d{3}|Art\. \d+|"
    r"Regulation \(EU\) \d{4}/\d+|Export Control Order|Supplement No\. \d)"
)


def test_the_corpus_is_large_enough() -> None:
    kinds = Counter(load_document(p, REPO).meta.doc_type for p in DOCS)
    assert kinds["guidance"] >= 25
    assert kinds["checklist"] >= 8
    assert kinds["template"] >= 6


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_document_parses_with_valid_front_matter_and_cites(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), "front matter is required in the shipped corpus"
    doc = load_document(path, REPO)
    meta = doc.meta
    assert meta.title and meta.effective_date and meta.version and meta.source_refs and meta.topics
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", meta.effective_date)
    body = doc.pages[0].text
    assert REFERENCE.search(body), "no regulation reference in the body"
    assert f"# {meta.title}" in body, "the H1 must repeat the title"
    assert "## When to contact the export control office" in body


def test_titles_are_unique() -> None:
    titles = Counter(load_document(p, REPO).meta.title for p in DOCS)
    assert [t for t, n in titles.items() if n > 1] == []


def test_corpus_mentions_every_required_reference() -> None:
    wanted = [
        line.strip()
        for line in (REPO / "tests" / "data" / "required-references.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    missing = [ref for ref in wanted if ref not in text]
    assert missing == [], f"corpus does not mention: {missing}"


def test_unverified_facts_carry_an_as_of_date() -> None:
    flagged = [p for p in DOCS if "## Status and currency" in p.read_text(encoding="utf-8")]
    assert len(flagged) >= 20
    for path in flagged:
        section = path.read_text(encoding="utf-8").split("## Status and currency", 1)[1]
        assert re.search(r"as of 2026-\d{2}-\d{2}|2026-11-26", section.split("\n## ")[0]), path.name


def test_curated_cases_cover_every_level_and_the_hard_kinds() -> None:
    from advisor.evaluation.cases import load_cases

    cases, files = load_cases([REPO / "evals" / "cases"])
    levels = Counter(str(c.expected_level) for c in cases)
    assert len(cases) >= 60 and len({c.id for c in cases}) == len(cases)
    assert min(levels["none"], levels["review"], levels["escalate"]) >= 15
    assert levels["prohibited"] >= 10
    assert sum(c.out_of_scope for c in cases) >= 4
    assert sum("prompt-injection" in c.tags for c in cases) >= 3
    assert len(files) >= 8
