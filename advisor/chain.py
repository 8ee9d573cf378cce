"""The pipeline, wired in one place: question -> retrieval -> escalation -> answer."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from langchain_core.embeddings import Embeddings

from advisor.corpus.chunking import Chunker
from advisor.corpus.ingest import DocumentLimits, Ingestor
from advisor.corpus.lexical import LexicalIndex
from advisor.corpus.retrieval import CorpusRetriever
from advisor.corpus.store import ChunkStore, build_embeddings, open_store
from advisor.errors import InputError, RulesError, StoreError
from advisor.models import Answer, Attachment, AttachmentSummary, Flag, Level, ScoredChunk, Turn
from advisor.rules.clauses import ClauseFinder, DocumentFindings, combine
from advisor.rules.conversation import is_follow_up, near_domain, prefer_regime
from advisor.rules.determinations import (
    DeterminationIndex,
    DeterminationMatch,
    load_determinations,
)
from advisor.rules.escalation import Assessment, EscalationEngine
from advisor.rules.phrasings import PrefetchEmbeddings
from advisor.screening import Screener, screener_from_settings
from advisor.settings import Settings, configure_offline
from advisor.text import normalise
from advisor.writing.answer import (
    AnswerWriter,
    Draft,
    ExtractiveWriter,
    Shown,
    WriteRequest,
)
from advisor.writing.attachment import document_block
from advisor.writing.llm import LLMSetup
from advisor.writing.verdict import BottomLine, compose

log = logging.getLogger(__name__)


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
    determinations: DeterminationIndex | None = None
    determination_error: str | None = None
    screener: Screener | None = None
    clause_finder: ClauseFinder | None = None
    _clauses: ClauseFinder = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The advisor owns the screener; the rules engine only calls through it, so replacing
        # the list (``use_screener``) is one assignment in one place.
        self.escalation.party_screen = self._screen
        # Attachments are read by the same rules engine, clause by clause.
        self._clauses = self.clause_finder or ClauseFinder(self.escalation)

    def _screen(self, text: str) -> list[Flag]:
        return [] if self.screener is None else self.screener.flags_for_text(text)

    def use_screener(self, screener: Screener | None) -> None:
        """Serve a new screening list from the next question on."""
        self.screener = screener

    @property
    def store(self) -> ChunkStore:
        return self.retriever.store

    def check_question(self, question: str) -> str:
        text = normalise(question or "").strip()
        if not text:
            raise InputError("the question is empty; describe your situation in a sentence or two")
        if len(text) > self.settings.max_question_chars:
            raise InputError(
                f"the question is {len(text):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,}. Shorten it to the facts that matter."
            )
        return text

    def check_history(self, history: list[Turn] | None) -> list[Turn]:
        """Bounded, normalised history: the client sends it, so it is untrusted input."""
        turns = list(history or [])[-self.settings.max_history_turns :]
        total = sum(len(t.content) for t in turns)
        if total > self.settings.max_history_chars:
            raise InputError(
                f"the conversation sent with the question is {total:,} characters long; the "
                f"limit is {self.settings.max_history_chars:,}. Start a new conversation."
            )
        return [Turn(role=t.role, content=normalise(t.content, "the conversation")) for t in turns]

    def _retrieval_query(self, question: str, history: list[Turn]) -> str:
        """Follow-ups like "and if he lives in Tehran?" need the earlier turns to retrieve well.

        An LLM writer condenses them into a standalone question; without one (or when the
        model fails) the recent user turns are joined to the question.
        """
        earlier = [t.content for t in history if t.role == "user"][-self.settings.history_turns :]
        if not earlier or self.settings.history_turns == 0:
            return question
        joined = "\n".join([*earlier, question])[-2000:]
        if not self.writer.condenses:
            return joined
        return self.writer.condense(question, history[-2 * self.settings.history_turns :]) or joined

    def _prepare(
        self, question: str, history: list[Turn] | None, context: str = ""
    ) -> tuple[str, list[Turn], list[ScoredChunk], list[float], float, str]:
        text = self.check_question(question)
        turns = self.check_history(history)
        # Only a real follow-up carries the earlier situation; a new question starts fresh.
        turns = turns if is_follow_up(text, turns) else []
        query = self._retrieval_query(text, turns)
        # The clauses found in an attachment retrieve the passages that explain them; the
        # question asked stays the query's own (``asked`` never carries document text).
        search = f"{query}\n{context}"[-3000:] if context else query
        vector = self.store.embed_query(search)
        hits = self.retriever.retrieve(search, vector=vector)
        top = max((h.score for h in hits), default=0.0)  # fused order is not score order
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

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Answer:
        return self.ask_traced(question, history, attachment).answer

    def ask_traced(
        self,
        question: str,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Traced:
        traced: Traced | None = None
        for part in self.stream_traced(question, history, attachment):
            if isinstance(part, Traced):
                traced = part
        assert traced is not None
        return traced

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the finished ``Answer``."""
        for part in self.stream_traced(question, history, attachment):
            yield part.answer if isinstance(part, Traced) else part

    def _assess(
        self,
        text: str,
        turns: list[Turn],
        hits: list[ScoredChunk],
        findings: DocumentFindings | None,
    ) -> Assessment:
        """The rules' verdict on the question, and on the attachment's clauses with it."""
        assessment = self.escalation.assess(text, turns, hits)
        if findings is not None and findings.found:
            together = self.escalation.assess(text, [*turns, *findings.turns()], hits)
            assessment = combine(assessment, together, findings)
        if near_domain(text):  # a visa or tax question: only serious flags are kept
            kept = [f for f in assessment.flags if f.level.rank >= Level.ESCALATE.rank]
            assessment.flags = kept
            assessment.level = Level.highest([f.level for f in kept])
        return assessment

    def _decide(
        self, asked: str, assessment: Assessment, vector: list[float]
    ) -> tuple[Level, BottomLine]:
        """The level and the lead: a fitting determination may raise the level; it lowers it
        only by settling rules it names, for its own situation and a close match."""
        match = None
        if self.determinations is not None:
            match = self.determinations.best(
                vector,
                set(assessment.situation.facts),
                assessment.level,
                assessment.situation.jurisdictions,
                assessment.flags,
            )
        if match is not None and match.settled:
            _settle(assessment, match)
        level = (
            Level.highest([assessment.level, match.determination.level])
            if match
            else (assessment.level)
        )
        lead = compose(asked, level, assessment.flags, assessment.situation, match)
        return level, lead

    def _parts(
        self,
        asked: str,
        assessment: Assessment,
        hits: list[ScoredChunk],
        in_scope: bool,
        request_extra: tuple[Level, BottomLine, list[float]],
        document: AttachmentSummary | None = None,
    ) -> tuple[Iterator[str | Shown | Draft], list[ScoredChunk]]:
        level, lead, vector = request_extra
        if not in_scope:
            declined = self.writer.decline(asked, assessment.flags, level)
            if document is not None:  # the question is declined; the document was still read
                declined = _followed_by(declined, document_block(document, self.writer.office))
            return declined, hits
        usable = [h for h in hits if h.score >= self.settings.min_relevance * 0.8]
        usable = prefer_regime(usable, assessment.situation.jurisdictions)
        support = self._flag_support(assessment.flags, usable)
        request = WriteRequest(
            asked,
            usable,
            assessment.flags,
            level,
            vector,
            support,
            bottom_line=lead.text,
            determination=lead.determination,
            situation=assessment.situation,
            document=document,
        )
        return self.writer.stream(request), hits + support

    def stream_traced(
        self,
        question: str,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Iterator[str | Traced]:
        """The answer as it grows, then the ``Traced`` answer. An ``attachment`` is read by
        the rules clause by clause; what they find sets the level with the question, is
        cited by page, and is data only: never instructions, never added to the corpus."""
        started = time.perf_counter()
        self.check_question(question)  # a bad question fails before the document is read
        findings = self._clauses.find(attachment) if attachment is not None else None
        context = findings.context() if findings is not None else ""
        text, turns, hits, vector, top, query = self._prepare(question, history, context)
        # A writer that condenses follow-ups answers the standalone question it retrieved for.
        asked = query if self.writer.condenses else text
        assessment = self._assess(text, turns, hits, findings)
        # A document the rules raise a warning on is answered about, whatever its topic.
        in_scope = self._in_scope(text, top, assessment) or bool(findings and findings.raised)
        level, lead = self._decide(text, assessment, vector)
        document = findings.summary if findings is not None else None
        parts, hits = self._parts(
            asked, assessment, hits, in_scope, (level, lead, vector), document
        )
        shown = ""
        draft = Draft(text="", citations=[])
        for part in parts:
            if isinstance(part, Draft):
                draft = part
            else:
                shown = (
                    part.text
                    if isinstance(part, Shown)
                    else (f"{shown}\n\n{part}" if shown else part)
                )
                yield shown
        # A writer may add flags (a model's suggestion); they can only raise the level.
        flags = sorted([*assessment.flags, *draft.flags], key=lambda f: -f.level.rank)
        final = Level.highest([level, *(f.level for f in flags)])
        situation = assessment.situation
        answer = Answer(
            question=text,
            answer=draft.text,
            bottom_line=draft.bottom_line or lead.text,
            level=final,
            flags=flags,
            citations=draft.citations,
            in_scope=in_scope,
            model=draft.model or self.writer.name,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            fallback=draft.fallback,
            prompt_version=draft.prompt_version,
            situation=situation,
            missing=situation.missing_questions() if final is not Level.PROHIBITED else [],
            determination=lead.determination.determination.id if lead.determination else None,
            notes=assessment.notes + self.notes() + (findings.notes if findings else []),
            attachment=draft.document or (findings.summary if findings else None),
        )
        yield Traced(answer=answer, hits=hits)

    def _in_scope(self, text: str, top: float, assessment: Assessment) -> bool:
        """Near the threshold, nearby topics (tax, grants) score like weak export questions;
        there the question must also use export-control vocabulary to count as covered. An
        escalation keeps a question in scope so the answer explains the flags. Privacy, tax,
        visa and patent questions are declined unless they also ask about an export."""
        if near_domain(text):
            return False
        relevant = top >= self.settings.min_relevance and (
            top >= self.settings.confident_relevance or assessment.in_domain
        )
        return relevant or assessment.level.rank >= Level.ESCALATE.rank

    def notes(self) -> list[str]:
        """Operational warnings every answer carries until they are fixed (a bad
        determinations or screening-list file, an index not refreshed at start-up)."""
        notes = [] if self.determination_error is None else [self.determination_error]
        error = self.screener.last_error if self.screener is not None else None
        if error:
            notes.append(
                f"The screening list on disk is invalid and the last good list is in use: {error}"
            )
        return notes


def _followed_by(parts: Iterator[str | Shown | Draft], block: str) -> Iterator[str | Shown | Draft]:
    """A writer's parts with one more block at the end of the text shown and of the draft."""
    for part in parts:
        if isinstance(part, Draft):
            yield block
            yield replace(part, text=f"{part.text}\n\n{block}")
        else:
            yield part


def build_ingestor(settings: Settings, store: ChunkStore, progress: bool = True) -> Ingestor:
    return Ingestor(
        store=store,
        chunker=Chunker(settings.chunk_size, settings.chunk_overlap),
        base=settings.corpus_dir.parent,
        progress=progress,
        limits=DocumentLimits.from_settings(settings),
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
    startup_note = None
    if ensure_index and settings.corpus_dir.exists():
        progress = sys.stderr.isatty()  # a bar for people at a terminal, not for logs
        try:
            build_ingestor(settings, store, progress=progress).sync([settings.corpus_dir])
        except StoreError as exc:  # another ingest holds the lock: serve the index as it is
            if "another ingest" not in str(exc):
                raise
            log.warning("start-up sync skipped: %s", exc)
            startup_note = f"The index was not refreshed at start-up: {exc}"
    extractive = ExtractiveWriter(embeddings=embeddings, office=settings.office_contact)
    writer: AnswerWriter = extractive if llm is None else llm.writer(extractive)
    cache = settings.data_dir / "phrasings"
    # The rules' phrasing matcher embeds through a memo that an attachment's clauses are
    # embedded into in one batch, several times faster than one call per clause.
    prefetching = PrefetchEmbeddings(embeddings)
    escalation = EscalationEngine(
        settings.rules_dir,
        embeddings=prefetching,
        cache_dir=cache,
    )
    index, error = build_determinations(settings, escalation, embeddings, cache)
    error = "; ".join(x for x in (error, startup_note) if x) or None
    return Advisor(
        settings=settings,
        retriever=CorpusRetriever(
            store=store,
            k=settings.top_k,
            lexical=LexicalIndex(store.all_chunks, lambda: store.revision)
            if settings.lexical_retrieval
            else None,
        ),
        escalation=escalation,
        writer=writer,
        determinations=index,
        determination_error=error,
        screener=screener_from_settings(settings),
        clause_finder=ClauseFinder(escalation, prefetching),
    )


def _settle(assessment: Assessment, match: DeterminationMatch) -> None:
    """The rules a curated determination answers in full leave the level and the reasons;
    a note says which, so the answer never shows a flag its level contradicts."""
    settled = set(match.settled)
    names = ", ".join(sorted(settled))
    assessment.flags = [f for f in assessment.flags if f.id not in settled]
    assessment.level = Level.highest([f.level for f in assessment.flags])
    assessment.notes.append(
        f"The curated determination {match.determination.id} answers this situation in full,"
        f" so the general rule(s) {names} do not set the level."
    )


def build_determinations(
    settings: Settings, escalation: EscalationEngine, embeddings: Embeddings, cache: Path
) -> tuple[DeterminationIndex | None, str | None]:
    """The curated determinations; a bad file is reported in every answer's notes and the
    advisor answers from the rules alone, never stops."""
    folder = settings.determinations_dir
    if not folder.is_dir():
        return None, None
    sources: dict[str, str] = {}
    rules = escalation.rules
    try:
        entries = load_determinations(
            folder, set(rules.places), set(rules.groups), sources, {r.id for r in rules.rules}
        )
    except RulesError as exc:
        log.warning("determinations not loaded: %s", exc)
        return None, f"The curated determinations could not be loaded: {exc}"
    base = settings.corpus_dir.parent
    shown = {k: _relative(Path(v), base) for k, v in sources.items()}
    return DeterminationIndex(entries, embeddings, shown, cache_dir=cache), None


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()
