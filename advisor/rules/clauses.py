"""Findings in an attached document: the escalation rules run on it clause by clause.

A sponsor agreement is not a question. Each of its sentences is assessed on its own by the
same ``EscalationEngine`` that assesses questions, so a publication-approval clause on page 2
is found, and cited, where it stands, and one clause cannot talk another away (a patent-review
clause elsewhere does not excuse an approval right). The question is then assessed together
with the clauses that were found, for what only their combination shows (ITAR data in the
agreement, an Iranian postdoc in the question). The document's text is data: a sentence that
tells the advisor what to answer is noted, never obeyed, never a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from advisor.corpus.chunking import split_sentences
from advisor.models import (
    Attachment,
    AttachmentClause,
    AttachmentSummary,
    Flag,
    Level,
    Turn,
)
from advisor.rules.escalation import Assessment, EscalationEngine, RuleSet
from advisor.rules.facts import FIXED, PARTY_KINDS
from advisor.rules.phrasings import PrefetchEmbeddings
from advisor.rules.phrasings import clauses as phrase_pieces
from advisor.rules.situation import Situation

# The one fact the advisor never takes from a document: an instruction about its own level.
INSTRUCTION = "activity:level_instruction"
# Says whose work it is, not what is in it: never shown as what a clause is about.
_UNSHOWN = {"activity:own_work"}
MAX_CLAUSES = 2000
COMBINED = 12  # clauses assessed together with the question
_NUMBERED = re.compile(
    r"\n(?=[ \t]*(?:\d+(?:\.\d+)+\.?|\d+\.|\([a-z0-9]{1,4}\)|[A-Z]\.|"
    r"(?:ARTICLE|Article|SECTION|Section)\s+[\dIVXLC]+)\s)"
)
_LONG = 700


@dataclass(frozen=True)
class Clause:
    """One sentence of the document and where it is."""

    text: str
    page: int | None
    paragraph: int | None


def _sentences(text: str) -> list[str]:
    """Sentences of extracted text: hyphenated line ends joined, numbered clauses apart."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    text = _NUMBERED.sub("\n\n", text)
    out: list[str] = []
    for sentence in split_sentences(text):
        pieces = [sentence] if len(sentence) <= _LONG else re.split(r"(?<=;)\s+", sentence)
        for piece in pieces:
            piece = piece.strip()
            if len(piece.split()) >= 4:
                out.append(piece[: _LONG * 2])
    return out


def split_clauses(attachment: Attachment, limit: int = MAX_CLAUSES) -> list[Clause]:
    """The document's sentences with their page or paragraph; a repeated sentence (a running
    header or footer) only where it first appears."""
    seen: set[str] = set()
    out: list[Clause] = []
    for page in attachment.pages:
        for sentence in _sentences(page.text):
            key = sentence.lower()
            if key in seen:
                continue
            seen.add(key)
            out.append(Clause(sentence, page.page, page.paragraph))
            if len(out) >= limit:
                return out
    return out


@dataclass
class DocumentFindings:
    """What the rules found in one attachment: the clauses, their flags, and notes."""

    summary: AttachmentSummary
    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """Some clause raised a flag or named a place."""
        return bool(self.summary.clauses)

    @property
    def raised(self) -> bool:
        """Some clause raised a warning (review or above)."""
        return any(c.level.rank >= Level.REVIEW.rank for c in self.summary.clauses)

    def turns(self, limit: int = COMBINED) -> list[Turn]:
        """The strongest clauses as conversation text, for assessing them with the question."""
        strongest = sorted(self.summary.clauses, key=lambda c: -c.level.rank)[:limit]
        return [Turn(role="user", content=c.text) for c in strongest]

    def context(self, limit: int = 3) -> str:
        """The strongest clauses, to retrieve the passages that explain them."""
        return "\n".join(t.content for t in self.turns(limit))


@dataclass
class ClauseFinder:
    """Runs the rules on every clause of an attachment (see the module docstring)."""

    engine: EscalationEngine
    embeddings: PrefetchEmbeddings | None = None
    max_clauses: int = MAX_CLAUSES

    def find(self, attachment: Attachment) -> DocumentFindings:
        clauses = split_clauses(attachment, self.max_clauses)
        if self.embeddings is not None:
            self.embeddings.prefetch(p for c in clauses for p in phrase_pieces([c.text]))
        rules = self.engine.rules
        rule_ids = {r.id for r in rules.rules}
        found: list[AttachmentClause] = []
        flags: dict[str, Flag] = {}
        instructions: list[str] = []
        base = attachment.sha256[:16]
        for index, clause in enumerate(clauses):
            assessment = self.engine.assess(clause.text)
            situation = assessment.situation
            kept = _kept([f for f in assessment.flags if _counts(f, rule_ids)])
            places = [
                p
                for p in [*situation.destinations, *situation.nationalities]
                if rules.places[p].kind == "country" or rules.places[p].regime != "none"
            ]
            if INSTRUCTION in situation.facts:
                instructions.append(f"{_where(clause)}: “{clause.text[:120]}”")
            if not kept and not places:
                continue
            for flag in kept:
                if flag.id not in flags or flag.level.rank > flags[flag.id].level.rank:
                    flags[flag.id] = flag
            found.append(
                AttachmentClause(
                    text=clause.text,
                    page=clause.page,
                    paragraph=clause.paragraph,
                    level=Level.highest([f.level for f in kept]),
                    flags=list(dict.fromkeys(f.id for f in kept)),
                    about=_about(kept, situation, rules, rule_ids),
                    chunk_id=f"attachment:{base}:{index}",
                )
            )
        notes = list(attachment.notes)
        capped = len(clauses) >= self.max_clauses
        if capped:
            notes.append(
                f"{attachment.name}: only the first {self.max_clauses:,} sentences were analysed"
            )
        if instructions:
            notes.append(
                f"{attachment.name} contains text addressed to the advisor, treated as document "
                "content and not followed: " + "; ".join(instructions[:3])
            )
        summary = AttachmentSummary(
            name=attachment.name,
            sha256=attachment.sha256,
            kind=attachment.kind,
            pages=attachment.page_count,
            clauses=found,
            analysed=len(clauses),
            truncated=capped or attachment.truncated,
        )
        ordered = sorted(flags.values(), key=lambda f: -f.level.rank)
        return DocumentFindings(summary=summary, flags=ordered, notes=notes)


def _counts(flag: Flag, rule_ids: set[str]) -> bool:
    """A rule's flag, or a screening hit; never a level instruction or a list-age notice."""
    if INSTRUCTION in flag.matched:
        return False
    return flag.id in rule_ids or flag.level.rank >= Level.REVIEW.rank


def _kept(flags: list[Flag]) -> list[Flag]:
    """A clause's warnings; a reassuring flag only when it raises nothing else (a clause that
    restricts who may take part is not also "U.S. persons only, no licence needed")."""
    raised = [f for f in flags if f.level.rank >= Level.REVIEW.rank]
    return raised or flags


def _where(clause: Clause) -> str:
    parts = [f"page {clause.page}"] if clause.page else []
    if clause.paragraph:
        parts.append(f"paragraph {clause.paragraph}")
    return ", ".join(parts) or "the document"


def _about(
    flags: list[Flag], situation: Situation, rules: RuleSet, rule_ids: set[str]
) -> list[str]:
    """What a clause is about, in the rules' own words: trigger labels and fact names."""
    names = {pid: place.name for pid, place in rules.places.items()}
    out: list[str] = []
    for flag in flags:
        if flag.id not in rule_ids:  # a screening hit names the party it matched
            out.append(f"{PARTY_KINDS['listed_named']}: {', '.join(flag.matched)}")
            continue
        out += [label for atom in flag.matched if (label := _label(atom, rules))]
    if situation.destinations:
        out.append("destination: " + ", ".join(names[p] for p in situation.destinations))
    if situation.nationalities:
        out.append("nationality: " + ", ".join(names[p] for p in situation.nationalities))
    return list(dict.fromkeys(out))


_PLACE_KINDS = ("dest", "nat", "missing", "topic", "born", "located")


def _label(atom: str, rules: RuleSet) -> str | None:
    kind, _, name = atom.partition(":")
    if atom in _UNSHOWN or name == "*" or kind.startswith(_PLACE_KINDS):
        return None  # places are named once, from the situation
    trigger = rules.triggers.get(name)
    if trigger is not None:
        return trigger.label
    return FIXED.get(kind, {}).get(name)


def combine(question: Assessment, combined: Assessment, findings: DocumentFindings) -> Assessment:
    """The question's assessment with the document's.

    ``combined`` assessed the question with the strongest clauses, for what only both show.
    Its flags stand; a flag the question alone or a clause alone raised at review or above is
    kept as well (at its higher level), so no clause and no part of the question lowers what
    another raised. Reassuring (level none) flags come only from the combined reading.
    """
    by_id = {f.id: f for f in combined.flags}
    for flag in [*question.flags, *findings.flags]:
        if flag.level.rank < Level.REVIEW.rank:
            continue
        have = by_id.get(flag.id)
        if have is None or flag.level.rank > have.level.rank:
            by_id[flag.id] = flag
    flags = sorted(by_id.values(), key=lambda f: -f.level.rank)
    return Assessment(
        level=Level.highest([f.level for f in flags]),
        flags=flags,
        mentions=combined.mentions,
        in_domain=question.in_domain or combined.in_domain or findings.found,
        situation=combined.situation,
        notes=list(dict.fromkeys([*question.notes, *combined.notes])),
    )
