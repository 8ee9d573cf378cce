"""The exported record keeps every line of every answer on the page (issue 15: lines that
followed another line were printed off the right edge)."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

from advisor.models import Answer, Citation, Flag, Level
from advisor.rules.situation import Situation
from advisor.writing.transcript import to_markdown, to_pdf

BODY = "\n".join(
    [
        "**Bottom line (ESCALATE):** Not before your export control office has checked it. [1]",
        "**What the corpus says**",
        "- Releasing controlled source code to a foreign person in the U.S. is a deemed export.",
        "- Published code is not subject to the EAR (15 CFR 734.7). [2]",
        "- A sponsor clause that lets the sponsor approve publications ends fundamental research.",
        "**Next steps**",
        "- Send the agreement to the office before signing.",
        "- Keep a note of what you shared and with whom.",
    ]
)


def long_answer() -> Answer:
    source = "corpus/guidance/deemed-exports-and-releases-for-visiting-researchers-long-name.md"
    return Answer(
        question="May my Iranian postdoc see this sponsor's encryption source code?",
        answer=BODY,
        bottom_line="Not before your export control office has checked it. [1]",
        level=Level.ESCALATE,
        flags=[
            Flag(
                id="embargo-national-controlled",
                level=Level.ESCALATE,
                reason="Controlled technology would be released to a national of Iran.",
                citation="15 CFR 734.13(b); 31 CFR 560.418",
                next_step="Ask your export control office before any access is given.",
            )
        ],
        citations=[
            Citation(
                n=n,
                doc_id=f"d{n}",
                title=f"Guide {n}",
                section="Scope",
                source=source,
                text="First quoted sentence.\nSecond quoted sentence follows directly.",
                score=0.8,
            )
            for n in (1, 2)
        ],
        situation=Situation(
            understood=["party: Iranian national, in the U.S.", "item: source code"]
        ),
        missing=["Will the results or code be published, or are they already public?"],
    )


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]{3,}", text.replace("`", ""))


def test_every_line_is_in_the_pdf_and_inside_the_margins(tmp_path: Path) -> None:
    answer = long_answer()
    pdf_path = to_pdf([answer, answer], "the export control office", tmp_path / "record.pdf")
    reader = PdfReader(pdf_path)
    starts: list[float] = []
    fragments: list[str] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: object) -> None:
        if text.strip():
            starts.append(tm[4] * cm[0] + cm[4])
            fragments.append(text)

    for page in reader.pages:
        page.extract_text(visitor_text=visit)
    width = float(reader.pages[0].mediabox.width)
    margin = 10 / 25.4 * 72  # fpdf2's default 1 cm margin, in points
    assert starts and min(starts) >= margin - 1
    assert max(starts) < width / 3, "a line starts far right: it ran off the page"
    printed = set(words(" ".join(fragments)))
    for line in to_markdown([answer], "the export control office").splitlines():
        missing = [w for w in words(line) if w not in printed and not w.isdigit()]
        assert not missing, (line, missing)


def test_the_record_carries_level_situation_flags_missing_facts_and_sources() -> None:
    md = to_markdown([long_answer()], "the office")
    assert "**Level: ESCALATE**" in md
    assert "### What I understood" in md and "- party: Iranian national, in the U.S." in md
    assert "### Still to answer" in md and "already public?" in md
    assert "15 CFR 734.13(b)" in md and "corpus/guidance/deemed-exports" in md


def test_an_out_of_scope_answer_is_not_recorded_as_a_plain_none() -> None:
    answer = long_answer().model_copy(update={"level": Level.NONE, "in_scope": False})
    assert "**Level: NONE (out of scope)**" in to_markdown([answer], "the office")
