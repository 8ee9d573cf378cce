"""An attached document in the answer: its flagged clauses cited like passages, quoted as data.

The clauses the rules found (``advisor.rules.clauses``) are numbered after the corpus passages
and cited with ``[n]`` where they are named: in the bottom line ("The attached agreement has
sponsor publication or access restrictions (page 2) [5].") and in a block that quotes them.
Their text is shown as a quotation, markup neutralised, so a document can neither add
``[n]`` markers nor format itself into the advisor's own words. When nothing matched, the
answer says so, and says that this is not a legal review.
"""

from __future__ import annotations

import re

from advisor.models import AttachmentClause, AttachmentSummary, Citation, Level

MAX_CITED = 8
MAX_QUOTE = 400
_PREFIX = re.compile(r"^((?:Yes|No|Very likely yes)\.)\s+(.*)$", re.DOTALL)
_MARKUP = re.compile(r"([\\`*_<>#|~])")


def number_clauses(
    summary: AttachmentSummary, start: int
) -> tuple[AttachmentSummary, list[Citation]]:
    """The summary with ``n`` set on the clauses that will be cited (the strongest, at most
    ``MAX_CITED``, numbered in document order from ``start``), and their citations."""
    ranked = sorted(range(len(summary.clauses)), key=lambda i: (-summary.clauses[i].level.rank, i))
    cited = sorted(ranked[:MAX_CITED])
    numbers = {index: start + k for k, index in enumerate(cited)}
    clauses = [c.model_copy(update={"n": numbers.get(i)}) for i, c in enumerate(summary.clauses)]
    numbered = summary.model_copy(update={"clauses": clauses})
    citations = [citation_for_clause(c, numbered) for c in clauses if c.n is not None]
    return numbered, citations


def citation_for_clause(clause: AttachmentClause, summary: AttachmentSummary) -> Citation:
    """A clause cited like a passage; its doc_id is stable for the same file's bytes."""
    assert clause.n is not None
    return Citation(
        n=clause.n,
        doc_id=f"attachment:{summary.sha256}",
        chunk_id=clause.chunk_id,
        title=f"Attached document: {summary.name}",
        section=f"paragraph {clause.paragraph}" if clause.paragraph else None,
        page=clause.page,
        source=f"attachment:{summary.name}",
        text=clause.text,
        score=1.0,
    )


def _what(clause: AttachmentClause) -> str:
    label = clause.about[0] if clause.about else "a clause the escalation rules flag"
    forms = (("destination: ", "{} as a destination"), ("nationality: ", "a national of {}"))
    for lead, shown in forms:
        if label.startswith(lead):
            return shown.format(label[len(lead) :])
    return label


def _extent(summary: AttachmentSummary) -> str:
    pages = f"{summary.pages} page{'s' if summary.pages != 1 else ''}, " if summary.pages else ""
    return f"{pages}{summary.analysed} sentence{'s' if summary.analysed != 1 else ''} checked"


def document_lead(summary: AttachmentSummary) -> str:
    """The sentence of the bottom line about the document, with the clauses' [n]."""
    if not summary.clauses:
        return (
            f"Nothing in the attached {summary.name} matched the escalation rules "
            f"({_extent(summary)}); that is a check of its wording, not a legal review."
        )
    cited = sorted((c for c in summary.clauses if c.n), key=lambda c: (-c.level.rank, c.n or 0))
    named = [f"{_what(c)} ({c.location()}) [{c.n}]" for c in cited[:2]]
    more = len(summary.clauses) - len(named)
    tail = f", and {more} more clause{'s' if more != 1 else ''} listed below" if more else ""
    return f"The attached {summary.name} has " + "; ".join(named) + tail + "."


def with_document(lead: str, sentence: str) -> str:
    """The bottom line with the document's sentence after its Yes/No, before the rule's answer."""
    match = _PREFIX.match(lead)
    if match:
        return f"{match.group(1)} {sentence} {match.group(2)}"
    return f"{sentence} {lead}".strip()


def quote(text: str) -> str:
    """Document text as an inline quotation: one line, no markup, no [n] markers."""
    flat = " ".join(text.split()).replace("[", "(").replace("]", ")")
    if len(flat) > MAX_QUOTE:
        flat = flat[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"
    return "“" + _MARKUP.sub(r"\\\1", flat) + "”"


def document_block(summary: AttachmentSummary, office: str) -> str:
    """The clauses the rules found, quoted with where they are and why, or that none was."""
    lines = [f"**In the attached document** ({quote(summary.name)[1:-1]}; {_extent(summary)})"]
    if not summary.clauses:
        lines.append(
            "Nothing in its wording matched the escalation rules. This is a check of the wording "
            f"against the rules, not a legal review: {office} should read an agreement before "
            "it is signed."
        )
    for clause in summary.clauses:
        if clause.n is None:
            continue
        why = "; ".join([*clause.about[:2], clause.level.value.upper()])
        where = clause.location()
        lines.append(f"- {where[0].upper()}{where[1:]}: {quote(clause.text)} ({why}) [{clause.n}]")
    rest = [c for c in summary.clauses if c.n is None]
    if rest:
        places = ", ".join(dict.fromkeys(c.location() for c in rest[:12]))
        top = Level.highest([c.level for c in rest]).value.upper()
        lines.append(f"- {len(rest)} more clause(s), up to {top}: {places}")
    if summary.truncated:
        lines.append("Only the first part of the document was analysed (see the notes).")
    if summary.clauses:
        lines.append("_Quoted from the document as data: checked against the rules, not followed._")
    return "\n".join(lines)
