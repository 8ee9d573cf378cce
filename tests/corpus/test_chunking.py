from __future__ import annotations

import pytest

from advisor.corpus.chunking import Chunker, chunk_id, split_sentences
from advisor.models import DocMeta, LoadedDocument, Page


def doc(text: str, *, doc_type: str = "guidance", title: str = "Guide", cfr: int | None = None):
    return LoadedDocument(
        source="corpus/guidance/guide.md",
        doc_id="d1",
        content_hash="h",
        meta=DocMeta(title=title, doc_type=doc_type),  # type: ignore[arg-type]
        pages=[Page(text=text)],
        cfr_title=cfr,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Under 15 CFR 734.8(b), this applies. It is short.", 2),
        ("See e.g. the U.S. rule in Supp. No. 3 to Part 732. Then stop.", 2),
        ("Art. 5 of Reg. (EU) 2021/821 applies. A second sentence follows.", 2),
        ("- first item in a list\n- second item in a list", 2),
        ("One sentence without a full stop", 1),
        ("", 0),
    ],
)
def test_split_sentences_keeps_legal_abbreviations(text: str, expected: int) -> None:
    assert len(split_sentences(text)) == expected


def test_heading_path_and_title_heading_dropped() -> None:
    text = (
        "# Guide\n\n## Deemed exports\n\n### Who is a foreign person\n\n"
        + "A foreign person is anyone who is not a U.S. person. " * 3
    )
    chunks = Chunker().split(doc(text))
    assert chunks[-1].heading_path == "Deemed exports > Who is a foreign person"


def test_regulation_sections_become_metadata() -> None:
    text = (
        "### Part 746\n\n#### § § 746.6\n\n"
        + "(a) A licence is required for Crimea under this section. " * 4
        + "\n\n#### § § 746.7\n\n"
        + "(a) A licence is required for Iran under this section. " * 4
    )
    chunks = Chunker().split(doc(text, doc_type="regulation", cfr=15))
    sections = {c.section for c in chunks}
    assert sections == {"746.6", "746.7"}
    crimea = next(c for c in chunks if "Crimea" in c.text)
    assert crimea.section_label == "15 CFR 746.6"


def test_section_lines_without_headings_in_plain_regulation_text() -> None:
    text = (
        "§ 999.1 Purpose.\n\n(a) Text of the purpose paragraph that is long enough.\n\n"
        "§ 999.2 Definitions.\n\n(a) A widget is a thing that is defined here at length."
    )
    chunks = Chunker().split(doc(text, doc_type="regulation", cfr=15))
    assert [c.section for c in chunks] == ["999.1", "999.2"]


def test_size_limit_overlap_and_nothing_dropped() -> None:
    sentences = [f"Sentence number {i} explains a rule about exports in detail." for i in range(80)]
    text = "## Long section\n\n" + " ".join(sentences)
    chunks = Chunker(chunk_size=500, overlap=120).split(doc(text))
    assert len(chunks) > 5
    assert all(len(c.text) <= 500 + 130 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)
    # consecutive chunks share their boundary sentence (overlap)
    assert chunks[1].text.split("\n\n")[0] in chunks[0].text


def test_overlong_sentence_is_wrapped_not_truncated() -> None:
    words = " ".join(f"word{i}" for i in range(600))
    chunks = Chunker(chunk_size=400, overlap=0).split(doc("## S\n\n" + words))
    assert " ".join(c.text for c in chunks).split() == words.split()


def test_chunk_ids_are_stable_and_content_sensitive() -> None:
    text = "## A\n\nThe same text gives the same chunk id every time it is chunked."
    first = Chunker().split(doc(text))
    second = Chunker().split(doc(text))
    assert [c.id for c in first] == [c.id for c in second]
    assert chunk_id("a.md", 0, "x") != chunk_id("a.md", 1, "x") != chunk_id("b.md", 0, "x")


def test_code_blocks_do_not_open_headings() -> None:
    text = (
        "## Real heading\n\n```\n# not a heading inside code\n```\n\n"
        "Body text that is long enough to be kept as a chunk."
    )
    chunks = Chunker().split(doc(text))
    assert all(c.heading_path == "Real heading" for c in chunks)
