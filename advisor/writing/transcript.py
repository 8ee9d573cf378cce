"""Conversation export (Markdown and PDF) to attach to a request to the export control office."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from advisor.models import Answer

_FONT_DIR = "mpl-data/fonts/ttf"


def to_markdown(answers: list[Answer], office: str, *, title: str = "export-advisor") -> str:
    """Every question with its level, flags, answer and the full cited passages."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# {title}: conversation record",
        "",
        f"Exported {stamp}. Guidance generated from a curated corpus, not legal advice; "
        f"for a decision contact {office}.",
        "",
    ]
    for i, answer in enumerate(answers, start=1):
        level = answer.level.upper() + ("" if answer.in_scope else " (out of scope)")
        out += [f"## Question {i}", "", answer.question, "", f"**Level: {level}**"]
        out += [f"(writer: {answer.model}{', fallback' if answer.fallback else ''})", ""]
        out += _situation_lines(answer)
        if answer.flags:
            out += ["### Flags", ""]
            out += [
                f"- **{f.level.upper()}** {f.reason} ({f.citation})"
                + (f" Next step: {f.next_step}" if f.next_step else "")
                for f in answer.flags
            ]
            out.append("")
        out += ["### Answer", "", answer.answer, ""]
        if answer.citations:
            out += ["### Sources", ""]
            for c in answer.citations:
                where = ", ".join(c.location())
                out += [
                    f"**[{c.n}] {c.title}**" + (f" ({where})" if where else ""),
                    f"`{c.source}`",
                ]
                out += ["", *[f"> {line}" for line in c.text.splitlines() if line.strip()], ""]
    return "\n".join(out).rstrip() + "\n"


def _situation_lines(answer: Answer) -> list[str]:
    """What the advisor understood and what it still needs: the office reads the record
    without the chat, so the facts the level rests on travel with it."""
    out: list[str] = []
    if answer.situation.understood:
        out += ["### What I understood", "", *[f"- {u}" for u in answer.situation.understood], ""]
    if answer.missing:
        out += ["### Still to answer", "", *[f"- {m}" for m in answer.missing], ""]
    if answer.notes:
        out += ["### Notes", "", *[f"- {n}" for n in answer.notes], ""]
    return out


def _font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.__file__).parent / _FONT_DIR / name


def _plain(text: str) -> str:
    """Markdown emphasis and link syntax removed for the PDF's plain text."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text)
    return text.replace("`", "")


def to_pdf(answers: list[Answer], office: str, path: Path) -> Path:
    """The Markdown record laid out as a PDF, with a Unicode font shipped by matplotlib."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(_font_path("DejaVuSans.ttf")))
    pdf.add_font("DejaVu", "B", str(_font_path("DejaVuSans-Bold.ttf")))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def put(w: float, h: float, text: str) -> None:
        # fpdf2 leaves the cursor at the cell's right edge by default, which printed every
        # following line off the page; each cell must end at the next line's left margin.
        pdf.multi_cell(w, h, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for line in to_markdown(answers, office).splitlines():
        heading = re.match(r"^(#{1,3})\s+(.*)", line)
        if heading:
            size = {1: 16, 2: 13, 3: 11}[len(heading.group(1))]
            pdf.set_font("DejaVu", "B", size)
            put(width, size * 0.55, _plain(heading.group(2)))
            pdf.ln(1)
        elif line.startswith("> "):
            pdf.set_font("DejaVu", "", 8.5)
            pdf.set_x(pdf.l_margin + 4)
            put(width - 4, 4.2, _plain(line[2:]))
        elif line.strip():
            pdf.set_font("DejaVu", "", 10)
            put(width, 5, _plain(line))
        else:
            pdf.ln(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
