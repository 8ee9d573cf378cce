"""Per-case checks: does one answer meet its case's expectations, and which checks failed.

Pure functions of a case and an answer, so tests score hand-made answers without a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from advisor.evaluation.cases import Case
from advisor.evaluation.outcome import CaseOutcome, level_band, misses_prohibition
from advisor.evaluation.report import Passage
from advisor.models import Answer, Citation, Level, ScoredChunk


def matches(entry: str, text: str, *, case_sensitive: bool) -> bool:
    """True when any ``|``-separated alternative occurs in text (``re:`` = regex search)."""
    flags = 0 if case_sensitive else re.IGNORECASE
    folded = text if case_sensitive else text.casefold()
    for alt in entry.split("|"):
        if alt.startswith("re:"):
            if re.search(alt[3:], text, flags):
                return True
        elif (alt if case_sensitive else alt.casefold()) in folded:
            return True
    return False


def mention_satisfied(entry: str, answer_text: str) -> bool:
    """must_mention is about content, so it ignores case."""
    return matches(entry, answer_text, case_sensitive=False)


def forbidden_hit(entry: str, answer_text: str) -> bool:
    """must_not_mention entries are exact markers (e.g. "APPROVED"): case matters."""
    return matches(entry, answer_text, case_sensitive=True)


def found_in_citations(entry: str, citations: Sequence[Citation]) -> bool:
    return any(
        matches(entry, part, case_sensitive=False)
        for c in citations
        for part in (c.text, c.title, c.section or "")
    )


def found_in_hits(entry: str, hits: Sequence[ScoredChunk]) -> bool:
    """Searches every retrieved passage, cited or not, to tell retrieval from writing."""
    return any(
        matches(entry, part, case_sensitive=False)
        for h in hits
        for part in (h.chunk.text, h.chunk.title, h.chunk.section_label or "", h.chunk.heading_path)
    )


@dataclass
class CaseResult:
    """One case's answer and the outcome of every check on it."""

    case: Case
    answer: Answer
    latency_ms: float
    mentions: list[tuple[str, bool]]
    cited: list[tuple[str, bool]]
    retrieved: list[tuple[str, bool]]
    forbidden: list[str]
    markers_ok: bool
    passages: list[Passage] = field(default_factory=list)
    leads: list[tuple[str, bool]] = field(default_factory=list)
    judged: dict[str, float] = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return self.answer.level

    @property
    def level_ok(self) -> bool:
        """Within the acceptable levels; the same classification as ``under``/``over``."""
        return level_band(self.level, self.case.acceptable) == "within"

    @property
    def level_exact(self) -> bool:
        return self.level == self.case.expected_level

    @property
    def under(self) -> bool:
        return level_band(self.level, self.case.acceptable) == "under"

    @property
    def over(self) -> bool:
        return level_band(self.level, self.case.acceptable) == "over"

    @property
    def scope_ok(self) -> bool:
        return self.answer.in_scope == (not self.case.out_of_scope)

    @property
    def prohibited_missed(self) -> bool:
        """The one error the gate never tolerates."""
        return misses_prohibition(self.case.expected_level, self.level)

    @property
    def failed_checks(self) -> list[str]:
        failed: list[str] = []
        if not self.level_ok:
            kind = "under-escalated" if self.under else "over-escalated"
            allowed = "|".join(lv.value for lv in self.case.acceptable)
            failed.append(f"level: {kind} ({self.level.value}, wanted {allowed})")
        failed += [f"mention: {entry}" for entry, ok in self.mentions if not ok]
        retrieved = dict(self.retrieved)
        failed += [f"lead: {entry}" for entry, ok in self.leads if not ok]
        for entry, ok in self.cited:
            if not ok:
                why = "retrieved, not cited" if retrieved.get(entry) else "not retrieved"
                failed.append(f"cite: {entry} ({why})")
        failed += [f"forbidden: {entry}" for entry in self.forbidden]
        if not self.scope_ok:
            failed.append(
                "scope: answered in scope"
                if self.answer.in_scope
                else "scope: refused as out of scope"
            )
        if not self.markers_ok:
            failed.append("markers: [n] without a citation")
        return failed

    @property
    def passed(self) -> bool:
        return not self.failed_checks

    @property
    def severity(self) -> tuple[int, ...]:
        """Sort key, worst first: missed prohibitions, under-escalation, leaks, then the rest."""
        floor = min(lv.rank for lv in self.case.acceptable)
        ceiling = max(lv.rank for lv in self.case.acceptable)
        return (
            int(self.prohibited_missed),
            max(0, floor - self.level.rank),
            len(self.forbidden),
            int(not self.scope_ok),
            max(0, self.level.rank - ceiling),
            len(self.failed_checks),
        )

    @property
    def outcome(self) -> CaseOutcome:
        """What the run-level metrics and the baseline need of this case."""
        return CaseOutcome(
            file=self.case.case_file,
            tags=self.case.tags,
            expected_level=self.case.expected_level,
            acceptable_levels=self.case.acceptable,
            level=self.level,
            passed=self.passed,
            mentions=_tally(self.mentions),
            leads=_tally(self.leads),
            cited=_tally(self.cited),
            retrieved=_tally(self.retrieved),
            guarded=bool(self.case.must_not_mention),
            forbidden=bool(self.forbidden),
            scope_ok=self.scope_ok,
            markers_ok=self.markers_ok,
            latency_ms=self.latency_ms,
            judged=self.judged,
        )


def _tally(pairs: Sequence[tuple[str, bool]]) -> tuple[int, int]:
    return sum(ok for _, ok in pairs), len(pairs)


def score_case(
    case: Case,
    answer: Answer,
    hits: Sequence[ScoredChunk],
    latency_ms: float | None = None,
    judged: Mapping[str, float] | None = None,
) -> CaseResult:
    """All checks of one case on one answer; pure, so tests can use hand-made answers."""
    from advisor.writing.answer import markers_valid  # the answer module pulls numpy and langchain

    return CaseResult(
        case=case,
        answer=answer,
        latency_ms=float(answer.latency_ms if latency_ms is None else latency_ms),
        mentions=[(e, mention_satisfied(e, answer.answer)) for e in case.must_mention],
        leads=[(e, mention_satisfied(e, answer.bottom_line)) for e in case.lead_must_mention],
        cited=[(e, found_in_citations(e, answer.citations)) for e in case.must_cite],
        retrieved=[(e, found_in_hits(e, hits)) for e in case.must_cite],
        forbidden=[e for e in case.must_not_mention if forbidden_hit(e, answer.answer)],
        markers_ok=markers_valid(answer.answer, answer.citations),
        passages=[
            Passage(
                title=h.chunk.title,
                section=h.chunk.section_label or h.chunk.heading_path or None,
                score=round(h.score, 4),
            )
            for h in hits
        ],
        judged=dict(judged or {}),
    )
