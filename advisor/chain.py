"""The pipeline, wired in one place: question -> retrieval -> escalation -> answer."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from advisor.answer import (
    AnswerWriter,
    Draft,
    ExtractiveWriter,
    Shown,
    WriteRequest,
    flags_block,
    notice,
    out_of_scope_text,
)
from advisor.chunking import Chunker
from advisor.errors import InputError
from advisor.escalation import EscalationEngine
from advisor.ingest import Ingestor
from advisor.llm import LLMSetup
from advisor.models import Answer, Flag, Level, ScoredChunk, Turn
from advisor.retrieval import CorpusRetriever
from advisor.screening import screener_from_settings
from advisor.settings import Settings, configure_offline
from advisor.store import ChunkStore, build_embeddings, open_store


@dataclass
class Traced:
    """An answer with every passage retrieved for it, for evaluation and audit."""

    answer: Answer
    hits: list[ScoredChunk]


@dataclass
class Advisor:
    """Answers questions; the app, the CLI and the evaluation suite all use this one object."""

    settings: Settings
    retriever: CorpusRetriever
    escalation: EscalationEngine
    writer: AnswerWriter

    @property
    def store(self) -> ChunkStore:
        return self.retriever.store

    def check_question(self, question: str) -> str:
        text = (question or "").strip()
        if not text:
            raise InputError("the question is empty; describe your situation in a sentence or two")
        if len(text) > self.settings.max_question_chars:
            raise InputError(
                f"the question is {len(text):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,}. Shorten it to the facts that matter."
            )
        return text

    def _retrieval_query(self, question: str, history: list[Turn]) -> str:
        """Follow-ups like "and if he lives in Tehran?" need the earlier turns to retrieve well.

        An LLM writer condenses them into a standalone question; without one (or when the
        model fails) the recent user turns are joined to the question.
        """
        earlier = [t.content for t in history if t.role == "user"][-self.settings.history_turns :]
        if not earlier or self.settings.history_turns == 0:
            return question
        joined = "\n".join([*earlier, question])[-2000:]
        condense = getattr(self.writer, "condense", None)
        if condense is None:
            return joined
        return condense(question, history[-2 * self.settings.history_turns :]) or joined

    def _prepare(
        self, question: str, history: list[Turn] | None
    ) -> tuple[str, list[Turn], list[ScoredChunk], list[float], float, str]:
        text = self.check_question(question)
        turns = list(history or [])
        query = self._retrieval_query(text, turns)
        vector = self.store.embed_query(query)
        hits = self.retriever.retrieve(query, vector=vector)
        top = hits[0].score if hits else 0.0
        return text, turns, hits, vector, top, query

    def _flag_support(self, flags: list[Flag], hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """One passage behind each of the strongest flags, so the rule that set the level
        is explained by the corpus and not only by the rule's own text."""
        seen = {h.chunk.id for h in hits[:4]}
        support: list[ScoredChunk] = []
        for flag in flags[:3]:
            query = f"{flag.citation}. {flag.reason}"
            for hit in self.retriever.retrieve(query, k=3):
                if hit.chunk.id not in seen and hit.score >= self.settings.min_relevance:
                    support.append(hit)
                    seen.add(hit.chunk.id)
                    break
        return support

    def _out_of_scope(self, flags: list[Flag]) -> Iterator[str | Draft]:
        office = self.settings.office_contact
        blocks = [out_of_scope_text(office), flags_block(flags), notice(office)]
        body = "\n\n".join(b for b in blocks if b)
        yield body
        yield Draft(text=body, citations=[])

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        return self.ask_traced(question, history).answer

    def ask_traced(self, question: str, history: list[Turn] | None = None) -> Traced:
        traced: Traced | None = None
        for part in self.stream_traced(question, history):
            if isinstance(part, Traced):
                traced = part
        assert traced is not None
        return traced

    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the finished ``Answer``."""
        for part in self.stream_traced(question, history):
            yield part.answer if isinstance(part, Traced) else part

    def stream_traced(
        self, question: str, history: list[Turn] | None = None
    ) -> Iterator[str | Traced]:
        started = time.perf_counter()
        text, turns, hits, vector, top, query = self._prepare(question, history)
        # A writer that condenses follow-ups answers the standalone question it retrieved for.
        asked = query if hasattr(self.writer, "condense") else text
        assessment = self.escalation.assess(text, turns, hits)
        # Near the threshold, nearby topics (tax, grants) score like weak export questions;
        # there the question must also use export-control vocabulary to count as covered.
        relevant = top >= self.settings.min_relevance and (
            top >= self.settings.confident_relevance or assessment.in_domain
        )
        # A question the corpus does not cover still gets its flags and level; an escalation
        # keeps it in scope so the answer explains the flags instead of declining.
        in_scope = relevant or assessment.level.rank >= Level.ESCALATE.rank
        parts: Iterator[str | Shown | Draft]
        if not in_scope:
            decline = getattr(self.writer, "decline", None)
            parts = (
                decline(asked, assessment.flags, assessment.level)
                if decline is not None
                else self._out_of_scope(assessment.flags)
            )
        else:
            usable = [h for h in hits if h.score >= self.settings.min_relevance * 0.8]
            support = self._flag_support(assessment.flags, usable)
            hits = hits + support
            parts = self.writer.stream(
                WriteRequest(asked, usable, assessment.flags, assessment.level, vector, support)
            )
        shown = ""
        draft = Draft(text="", citations=[])
        for part in parts:
            if isinstance(part, Draft):
                draft = part
            else:
                if isinstance(part, Shown):
                    shown = part.text
                else:
                    shown = f"{shown}\n\n{part}" if shown else part
                yield shown
        # A writer may add flags (a model's suggestion); they can only raise the level.
        flags = sorted([*assessment.flags, *draft.flags], key=lambda f: -f.level.rank)
        answer = Answer(
            question=text,
            answer=draft.text,
            level=Level.highest([assessment.level, *(f.level for f in flags)]),
            flags=flags,
            citations=draft.citations,
            in_scope=in_scope,
            model=draft.model or self.writer.name,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            fallback=draft.fallback,
            prompt_version=draft.prompt_version,
        )
        yield Traced(answer=answer, hits=hits)


def build_ingestor(settings: Settings, store: ChunkStore, progress: bool = True) -> Ingestor:
    return Ingestor(
        store=store,
        chunker=Chunker(settings.chunk_size, settings.chunk_overlap),
        base=settings.corpus_dir.parent,
        progress=progress,
    )


def build_advisor(
    settings: Settings, *, embeddings: Embeddings | None = None, ensure_index: bool = True
) -> Advisor:
    """Assemble every stage from one settings object.

    With ``ensure_index`` the corpus is synced first, so a fresh checkout answers at once and
    an edited corpus is picked up (unchanged documents are not re-embedded).
    """
    configure_offline()
    settings = settings.resolved()
    # Prompt files, provider package and key are checked before the index is touched.
    llm = LLMSetup.from_settings(settings) if settings.llm.strip() != "extractive" else None
    embeddings = embeddings or build_embeddings(settings)
    store = open_store(settings, embeddings, create=ensure_index)
    if ensure_index and settings.corpus_dir.exists():
        progress = sys.stderr.isatty()  # a bar for people at a terminal, not for logs
        build_ingestor(settings, store, progress=progress).sync([settings.corpus_dir])
    extractive = ExtractiveWriter(embeddings=embeddings, office=settings.office_contact)
    writer: AnswerWriter = extractive if llm is None else llm.writer(extractive)
    return Advisor(
        settings=settings,
        retriever=CorpusRetriever(store=store, k=settings.top_k),
        escalation=EscalationEngine(
            settings.rules_dir, party_screen=screener_from_settings(settings)
        ),
        writer=writer,
    )
