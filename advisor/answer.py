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

from advisor.chunking import split_sentences
from advisor.models import Citation, Flag, Level, ScoredChunk

BOTTOM_LINE = {
    Level.NONE: "No escalation trigger was found in your question. The passages below set out "
    "the rules that apply; check that your facts match them.",
    Level.REVIEW: "Check this before you proceed: something in your question usually needs a "
    "classification, a checklist or a quick review by {office}.",
    Level.ESCALATE: "Stop and contact {office} before you proceed: a licence or a formal "
    "determination is likely needed.",
    Level.PROHIBITED: "Do not proceed. As described, this is prohibited without a government "
    "licence that is generally denied; contact {office} now.",
}
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
    only raise the level, never lower it.
    """

    text: str
    citations: list[Citation]
    model: str | None = None
    fallback: bool = False
    prompt_version: str | None = None
    flags: list[Flag] = field(default_factory=list)


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
    the passages backing the strongest flags (``support``), and the rules' verdict."""

    question: str
    hits: list[ScoredChunk]
    flags: list[Flag]
    level: Level
    question_vector: list[float] | None = None
    support: list[ScoredChunk] = field(default_factory=list)


class AnswerWriter(Protocol):
    name: str

    def write(self, request: WriteRequest) -> Draft: ...

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]: ...


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


def bottom_line(level: Level, office: str) -> str:
    """The deterministic first block of every in-scope answer: the level and what it means."""
    return f"**Bottom line ({LEVEL_LABEL[level]}):** {BOTTOM_LINE[level].format(office=office)}"


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
_FRAGMENT_END = re.compile(r"(?:[:,;]|\b(?:or|and|to|of|the|a|an))$")
_BOILERPLATE_START = re.compile(
    r"^(?:This (?:guidance|checklist|template|document|guide)|It does not)\b"
)


def _usable(sentence: str) -> bool:
    """Whole, self-standing sentences only: no list fragments, headings or scope boilerplate."""
    if not 40 <= len(sentence) <= 600 or len(sentence.split()) < 8:
        return False
    if not (sentence[0].isupper() or sentence[0].isdigit() or sentence[0] in '"“§'):
        return False
    return not (_FRAGMENT_END.search(sentence) or _BOILERPLATE_START.search(sentence))


def _clean(sentence: str) -> str:
    sentence = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", "", sentence)
    sentence = sentence.replace("**", "").replace("__", "")
    return " ".join(sentence.split())


@dataclass
class ExtractiveWriter:
    """Bottom line from the level, then the most relevant retrieved sentences with [n].

    Needs no LLM: every statement except the fixed bottom line, flag reasons and next steps
    is a sentence copied from a cited passage, so nothing can be invented.
    """

    embeddings: Embeddings
    office: str
    max_sentences: int = 6
    per_passage: int = 2
    passages: int = 4
    name: str = "extractive"
    cache_size: int = 20_000
    _cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)
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
        candidates: list[tuple[int, str]] = []
        for index, hit in enumerate(hits):
            if _BOILERPLATE_SECTION.search(hit.chunk.heading_path or ""):
                continue
            for sentence in split_sentences(hit.chunk.text):
                cleaned = _clean(sentence)
                if _usable(cleaned):
                    candidates.append((index, cleaned))
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
        return [candidates[i] for i in chosen]

    def write(self, request: WriteRequest) -> Draft:
        return final_draft(self.stream(request))

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]:
        office, flags, level = self.office, request.flags, request.level
        passages = request.hits[: self.passages] + list(request.support)
        blocks: list[str] = [bottom_line(level, office)]
        yield blocks[0]
        selected = self._select(
            request.question, passages, request.question_vector, len(request.support)
        )
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        for passage, _ in selected:
            if passage not in numbers:
                numbers[passage] = len(numbers) + 1
                citations.append(citation_for(numbers[passage], passages[passage]))
        if selected:
            lines = ["**What the corpus says**"]
            lines += [f"- {text} [{numbers[p]}]" for p, text in selected]
            blocks.append("\n".join(lines))
            yield blocks[-1]
        if flags:
            blocks.append(flags_block(flags))
            yield blocks[-1]
        blocks.append(next_steps_block(flags, level, office))
        yield blocks[-1]
        blocks.append(notice(office))
        yield blocks[-1]
        yield Draft(text="\n\n".join(blocks), citations=citations)


def markers_valid(text: str, citations: list[Citation]) -> bool:
    """Every [n] in the text points to a returned citation."""
    numbers = {c.n for c in citations}
    return all(int(m) in numbers for m in MARKER.findall(text))
