"""Answer writers. The extractive writer composes answers only from retrieved sentences."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from advisor.corpus.chunking import split_sentences
from advisor.models import AttachmentSummary, Citation, Flag, Level, ScoredChunk, Turn
from advisor.rules.determinations import DeterminationMatch
from advisor.rules.situation import Situation
from advisor.writing.attachment import (
    document_block,
    document_lead,
    number_clauses,
    with_document,
)

NEXT_STEPS = {
    Level.NONE: "Keep a note of what you shared and with whom; ask {office} if the facts change.",
    Level.REVIEW: "Use the matching checklist in the corpus, and ask {office} if any answer is "
    "unclear.",
    Level.ESCALATE: "Send {office} a short description: what will be shared or shipped, to whom "
    "(name, institution, country, citizenship) and why.",
    Level.PROHIBITED: "Do not send, show, ship or discuss the item or technology; "
    "contact {office} before anything else happens.",
}
LEVEL_LABEL = {
    Level.NONE: "NONE",
    Level.REVIEW: "REVIEW",
    Level.ESCALATE: "ESCALATE",
    Level.PROHIBITED: "PROHIBITED",
}
MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class Draft:
    """What a writer returns: markdown text and the passages it cites, by their [n].

    ``model`` names the writer that really produced the text when it is not the configured
    one (an LLM writer that fell back to the extractive answer sets it to "extractive" and
    ``fallback``). ``flags`` are extra flags from the writer (a model's suggestion); they can
    only raise the level, never lower it. ``document`` is the request's attachment summary
    with the [n] of each cited clause.
    """

    text: str
    citations: list[Citation]
    model: str | None = None
    fallback: bool = False
    prompt_version: str | None = None
    flags: list[Flag] = field(default_factory=list)
    bottom_line: str = ""
    document: AttachmentSummary | None = None


@dataclass
class Shown:
    """The whole answer text shown so far, replacing what was shown before.

    Writers yield plain ``str`` blocks that the chain appends; a token stream (which grows
    inside a paragraph) or a restart after a failed check needs to replace the text instead.
    """

    text: str


@dataclass(frozen=True)
class WriteRequest:
    """Everything a writer gets for one answer: the question, the passages retrieved for it,
    the passages backing the strongest flags (``support``), the rules' verdict, and the
    clauses found in a document attached to the question (``document``, data to quote)."""

    question: str
    hits: list[ScoredChunk]
    flags: list[Flag]
    level: Level
    question_vector: list[float] | None = None
    support: list[ScoredChunk] = field(default_factory=list)
    bottom_line: str = ""
    determination: DeterminationMatch | None = None
    situation: Situation | None = None
    document: AttachmentSummary | None = None


class AnswerWriter(Protocol):
    """What the chain needs of a writer. Writers inherit it explicitly and so get the
    defaults: ``write`` drains ``stream``; ``condense`` does not rewrite follow-ups (the chain
    then joins the recent turns, and ``condenses`` is False); ``decline`` gives the fixed
    out-of-scope text. The chain asks for each ability by name, never by probing."""

    name: str
    office: str
    condenses: bool

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]: ...

    def write(self, request: WriteRequest) -> Draft:
        return final_draft(self.stream(request))

    def condense(self, question: str, history: list[Turn]) -> str:
        """A standalone question for retrieval, or "" to let the chain join the turns."""
        return ""

    def decline(
        self, question: str, flags: list[Flag], level: Level
    ) -> Iterator[str | Shown | Draft]:
        """The answer to an out-of-scope question: no citations, the flags, the notice."""
        blocks = [out_of_scope_text(self.office), flags_block(flags), notice(self.office)]
        body = "\n\n".join(b for b in blocks if b)
        yield body
        yield Draft(text=body, citations=[])


def final_draft(parts: Iterable[str | Shown | Draft]) -> Draft:
    """The ``Draft`` a writer ends its stream with."""
    draft: Draft | None = None
    for part in parts:
        if isinstance(part, Draft):
            draft = part
    if draft is None:
        raise AssertionError("the writer ended without a draft")
    return draft


def notice(office: str) -> str:
    return (
        f"_This is guidance generated from a curated corpus, not legal advice. "
        f"For a decision, contact {office}._"
    )


def flags_block(flags: list[Flag]) -> str:
    if not flags:
        return ""
    lines = ["**Why this level**"]
    lines += [f"- **{f.level.value.upper()}**: {f.reason} ({f.citation})" for f in flags]
    return "\n".join(lines)


def lead_block(text: str, level: Level) -> str:
    """The first block of every in-scope answer: the level and the direct answer."""
    return f"**Bottom line ({LEVEL_LABEL[level]}):** {text}"


def missing_block(situation: Situation | None, level: Level) -> str:
    """The facts the answer turns on, asked so the user can reply in a follow-up."""
    if situation is None or not situation.missing or level is Level.PROHIBITED:
        return ""
    lines = ["**To answer this precisely, tell me**"]
    lines += [f"- {q}" for q in situation.missing_questions()]
    return "\n".join(lines)


def determination_citation(n: int, match: DeterminationMatch) -> Citation:
    """A curated determination cited like a passage: its answer and what changes it."""
    det = match.determination
    text = " ".join([det.answer, *det.conditions])
    return Citation(
        n=n,
        doc_id=f"determination:{det.id}",
        chunk_id=f"determination:{det.id}",
        title=f"Determination: {det.questions[0]}",
        section="; ".join(det.citations),
        source=match.source or "corpus/determinations",
        text=text,
        score=round(match.score, 4),
        effective_date=det.as_of,
    )


def conditions_block(match: DeterminationMatch | None) -> str:
    if match is None or not match.determination.conditions:
        return ""
    lines = ["**What would change this**"]
    lines += [f"- {c}" for c in match.determination.conditions]
    return "\n".join(lines)


def next_steps_block(flags: list[Flag], level: Level, office: str) -> str:
    steps = [f.next_step for f in flags if f.next_step]
    steps.append(NEXT_STEPS[level].format(office=office))
    unique = list(dict.fromkeys(s.replace("your export control office", office) for s in steps))
    return "**Next steps**\n" + "\n".join(f"- {s}" for s in unique[:5])


def citation_for(n: int, hit: ScoredChunk) -> Citation:
    chunk = hit.chunk
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        chunk_id=chunk.id,
        title=chunk.title,
        section=chunk.section_label or (chunk.heading_path or None),
        page=chunk.page,
        source=chunk.source,
        text=chunk.text,
        score=hit.score,
        version=chunk.version,
        effective_date=chunk.effective_date,
    )


def out_of_scope_text(office: str) -> str:
    return (
        "The curated corpus does not cover this question, so no cited answer can be given. "
        f"For export-control questions outside the corpus, contact {office}; for other "
        "topics, ask the office responsible for them."
    )


_BOILERPLATE_SECTION = re.compile(
    r"(?:^|> )(?:Scope|Status and currency|How to use this template)$"
)
# Sections whose sentences are never findings: who to call, checklist questions, forms.
_NOT_FINDINGS = re.compile(
    r"(?i)\b(?:contact|when to (?:ask|call|contact|escalate)|who to (?:ask|call)|getting help|"
    r"further help|questions to ask|checklist|fill in|record of|form|fields?|signature|"
    r"template|worksheet)\b"
)
_EXAMPLE_SECTION = re.compile(r"(?i)\b(?:examples?|scenarios?|worked cases?|case studies)\b")
_FRAGMENT_END = re.compile(r"(?:[:,;]|\b(?:or|and|to|of|the|a|an))$")
_BOILERPLATE_START = re.compile(
    r"^(?:This (?:guidance|checklist|template|document|guide)|It does not)\b"
)
# A template line ("Field: TCP briefing date ____") is a form to fill in, never a finding.
_FIELD = re.compile(
    r"_{3,}|\[ \]|☐|<[^>]{2,40}>|\{[a-z_]+\}|^[A-Z][\w /()-]{1,40}:\s*$|:\s*$|^Field:\s"
)
# "What is an export licence?", "What does 'use' mean?", "define deemed export"
_DEFINITION_ASKED = re.compile(
    r"^\W*(?:(?:so|ok|hi|quick question)\W+)?(?:what\s+(?:is|are|does|constitutes)|define|"
    r"meaning\s+of|definition\s+of)\s+(?:an?\s+|the\s+)?[\"'“‘]?"
    r"(?P<term>[^?\"'”’\[\]()]{2,60}?)[\"'”’]?(?:\s+(?:mean|means))?\s*(?:\?|\[|\(|$)",
    re.I,
)
_DEFINES = (
    r"\W{0,3}(?:\([^)]{0,40}\)\W{0,3})?(?:means|refers\s+to|is\s+defined\s+as|(?:is|are)\s+"
    r"(?:an?|the|any|all|those|what|when|information|items?|software|technology|data)\b)"
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "and",
        "or",
        "under",
        "my",
        "our",
        "your",
        "this",
        "that",
    ]
)


def defined_term(question: str) -> str | None:
    """The term a definition question asks about, or None."""
    found = _DEFINITION_ASKED.search(question)
    return found.group("term").strip() if found else None


def defines(term: str, sentence: str) -> bool:
    """Whether the sentence says what ``term`` is: the term's words (by stem), then "means",
    "is", "refers to"... - so "An export licence is ..." defines "export license"."""
    words = [w for w in re.findall(r"[a-z0-9]+", term.lower()) if w not in _STOP]
    if not words or len(words) > 5:
        return False
    stems = r"\W+(?:\w+\W+){0,2}?".join(re.escape(w[:5]) + r"\w*" for w in words)
    return re.search(rf"(?i)\b{stems}{_DEFINES}", sentence) is not None


_VERDICT_WORDS = re.compile(
    r"(?i)\b(?:is not subject|are not subject|not subject to|no licen[cs]e|does not need|"
    r"do not need|"
    r"is not an export|is not a deemed export|is a deemed export|requires? a licen[cs]e|licen[cs]e "
    r"is required|is prohibited|are prohibited|is allowed|are allowed|is authori[sz]ed|are "
    r"authori[sz]ed|is exempt|are exempt|may not|must not|counts as|does not count)\b"
)
_UNITS = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)")


_CLAIM = re.compile(
    r"(?i)\b(?:approved|cleared|authori[sz]ed by (?:the )?advisor|is allowed|are allowed|"
    r"no licen[cs]e (?:is )?(?:needed|required)|safe to (?:ship|send|share|export)|"
    r"level\s*[:=]?\s*(?:none|review)|no escalation)\b"
)


def quoted(statement: str, level: Level) -> str:
    """Corpus text is data: a passage that claims approval or a level is shown as a quote,
    never as the advisor's own finding, when the rules set a stricter level."""
    if level.rank >= Level.REVIEW.rank and _CLAIM.search(statement):
        return f"_Quoted corpus text, not the advisor's finding:_ “{statement}”"
    return statement


def _usable(sentence: str) -> bool:
    """Whole, self-standing statements only: no questions, list fragments, headings, form
    fields or scope boilerplate."""
    if not 40 <= len(sentence) <= 700 or len(sentence.split()) < 8:
        return False
    if not (sentence[0].isupper() or sentence[0].isdigit() or sentence[0] in '"“§'):
        return False
    if sentence.rstrip().endswith("?") or _FIELD.search(sentence) or sentence.startswith("#"):
        return False
    return not (_FRAGMENT_END.search(sentence) or _BOILERPLATE_START.search(sentence))


def _clean(sentence: str) -> str:
    sentence = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", "", sentence)
    sentence = re.sub(r"(?<!_)__(?!_)", "", sentence.replace("**", ""))  # bold, not blanks
    return " ".join(sentence.split())


def statements(hit: ScoredChunk) -> list[str]:
    """Citable statements of a passage. An example is kept whole, its setting with its
    conclusion, so that one example's conclusion is never joined to another's setting."""
    chunk = hit.chunk
    heading = chunk.heading_path or ""
    if (
        _BOILERPLATE_SECTION.search(heading)
        or chunk.doc_type in ("template", "checklist")
        and (_NOT_FINDINGS.search(heading) or not heading)
    ):
        return []
    if _NOT_FINDINGS.search(heading.split(">")[-1]):
        return []
    out: list[str] = []
    for unit in _UNITS.split(chunk.text):
        text = _clean("\n".join(ln for ln in unit.splitlines() if not ln.lstrip().startswith("#")))
        if not text:
            continue
        if _EXAMPLE_SECTION.search(heading) or re.match(r"(?i)^(?:example|scenario)\b", text):
            if _usable(text[:700]) and len(text) <= 700:
                out.append(text)
            continue
        out += [c for c in (_clean(s) for s in split_sentences(text)) if _usable(c)]
    return out


@dataclass
class ExtractiveWriter(AnswerWriter):
    """Bottom line from the level, then the most relevant retrieved sentences with [n].

    Needs no LLM: every statement except the fixed bottom line, flag reasons and next steps
    is a sentence copied from a cited passage, so nothing can be invented. It keeps the
    contract's defaults: no condensing (``condenses`` False) and the fixed decline.
    """

    embeddings: Embeddings
    office: str
    max_sentences: int = 6
    per_passage: int = 2
    passages: int = 4
    name: str = "extractive"
    condenses: bool = False
    cache_size: int = 20_000
    _cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)
    _last: dict[tuple[int, str], float] = field(default_factory=dict, repr=False)
    _select_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _sentence_vectors(self, sentences: list[str]) -> np.ndarray:
        """Sentence embeddings, cached: popular passages come back question after question,
        and embedding their sentences is most of the writer's time."""
        with self._lock:
            missing = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        if missing:
            vectors = self.embeddings.embed_documents(missing)
            with self._lock:
                for sentence, vector in zip(missing, vectors, strict=True):
                    self._cache[sentence] = np.asarray(vector, dtype=np.float32)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        rows: list[np.ndarray | None] = []
        with self._lock:
            for sentence in sentences:
                cached = self._cache.get(sentence)
                if cached is not None:
                    self._cache.move_to_end(sentence)
                rows.append(cached)
        return np.vstack(
            [  # a row evicted by a concurrent request is embedded again, outside the lock
                row if row is not None else np.asarray(self.embeddings.embed_query(s), np.float32)
                for s, row in zip(sentences, rows, strict=True)
            ]
        )

    def _select(
        self,
        question: str,
        hits: list[ScoredChunk],
        question_vector: list[float] | None,
        n_support: int = 0,
    ) -> list[tuple[int, str]]:
        """Best sentences for the question; the last ``n_support`` passages back the flags
        and each contributes its best sentence even if others score higher."""
        candidates = [(index, text) for index, hit in enumerate(hits) for text in statements(hit)]
        if not candidates:
            return []
        qv = np.asarray(
            question_vector
            if question_vector is not None
            else self.embeddings.embed_query(question)
        )
        sv = self._sentence_vectors([c[1] for c in candidates])
        sims = sv @ qv / (np.linalg.norm(sv, axis=1) * np.linalg.norm(qv) + 1e-9)
        scored = sorted(
            range(len(candidates)),
            key=lambda i: -(sims[i] + 0.25 * hits[candidates[i][0]].score),
        )
        chosen: list[int] = []
        per: dict[int, int] = {}
        seen: set[str] = set()
        for i in scored:
            passage, text = candidates[i]
            key = text.lower()[:80]
            if per.get(passage, 0) >= self.per_passage or key in seen:
                continue
            chosen.append(i)
            per[passage] = per.get(passage, 0) + 1
            seen.add(key)
            if len(chosen) >= self.max_sentences:
                break
        first_support = len(hits) - n_support
        for passage in range(first_support, len(hits)):
            if per.get(passage):
                continue
            best = next((i for i in scored if candidates[i][0] == passage), None)
            if best is not None and candidates[best][1].lower()[:80] not in seen:
                chosen.append(best)
                per[passage] = 1
        chosen.sort(key=lambda i: (candidates[i][0], i))
        self._last = {candidates[i]: float(sims[i]) for i in chosen}
        return [candidates[i] for i in chosen]

    def _select_scored(
        self, question: str, hits: list[ScoredChunk], vector: list[float] | None, n_support: int
    ) -> tuple[list[tuple[int, str]], dict[tuple[int, str], float]]:
        """``_select`` with each statement's similarity to the question (thread-safe)."""
        with self._select_lock:
            selected = self._select(question, hits, vector, n_support)
            return selected, dict(self._last)

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]:
        office, flags, level = self.office, request.flags, request.level
        passages = request.hits[: self.passages] + list(request.support)
        selected, scores = self._select_scored(
            request.question, passages, request.question_vector, len(request.support)
        )
        citations: list[Citation] = []
        if request.determination is not None:
            citations.append(determination_citation(1, request.determination))
        numbers: dict[int, int] = {}
        for passage, _ in selected:
            if passage not in numbers:
                numbers[passage] = len(citations) + 1
                citations.append(citation_for(numbers[passage], passages[passage]))
        lead, selected = self._lead(request, selected, numbers, scores)
        document = None
        if request.document is not None:
            document, cited = number_clauses(request.document, len(citations) + 1)
            citations += cited
            lead = with_document(lead, document_lead(document))
        blocks = [lead_block(lead, level)]
        yield blocks[0]
        for block in (
            missing_block(request.situation, level),
            document_block(document, office) if document is not None else "",
            "\n".join(
                [
                    "**What the corpus says**",
                    *(f"- {quoted(t, level)} [{numbers[p]}]" for p, t in selected),
                ]
            )
            if selected
            else "",
            conditions_block(request.determination),
            flags_block(flags),
            next_steps_block(flags, level, office),
            notice(office),
        ):
            if block:
                blocks.append(block)
                yield block
        used = {int(m) for m in MARKER.findall("\n\n".join(blocks))}
        citations = [c for c in citations if c.n in used]
        yield Draft(
            text="\n\n".join(blocks), citations=citations, bottom_line=lead, document=document
        )

    def _lead(
        self,
        request: WriteRequest,
        selected: list[tuple[int, str]],
        numbers: dict[int, int],
        scores: dict[tuple[int, str], float],
    ) -> tuple[str, list[tuple[int, str]]]:
        """The bottom line with its [n]: the determination's own, else the passage backing
        the strongest flag, else the best statement (which then leads instead of repeating)."""
        if request.determination is not None:
            return f"{request.bottom_line} [1]", selected
        if request.bottom_line:
            first_support = len(request.hits[: self.passages])
            backing = [p for p, _ in selected if p >= first_support] or [p for p, _ in selected]
            marker = f" [{numbers[backing[0]]}]" if backing else ""
            return request.bottom_line + marker, selected
        if selected:
            # The statement that best answers the question leads: closest to it, with a
            # bonus for one that states a verdict rather than a background fact.
            term = defined_term(request.question)

            def weight(pt: tuple[int, str]) -> float:
                bonus = 0.08 if _VERDICT_WORDS.search(pt[1]) else 0.0
                if term is not None and defines(term, pt[1]):
                    bonus += 0.15  # a definition question is answered by the definition
                return scores.get(pt, 0.0) + bonus

            passage, text = max(selected, key=weight)
            rest = [pt for pt in selected if pt != (passage, text)]
            return f"{text} [{numbers[passage]}]", rest
        return (
            f"The corpus passages retrieved for this question do not settle it; ask {self.office}.",
            selected,
        )


def markers_valid(text: str, citations: list[Citation]) -> bool:
    """Every [n] in the text points to a returned citation."""
    numbers = {c.n for c in citations}
    return all(int(m) in numbers for m in MARKER.findall(text))
