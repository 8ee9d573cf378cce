"""One case's scored outcome as plain numbers, and the one classification of its level.

Level accuracy, under- and over-escalation, the confusion matrix and the baseline's per-case
records all classify a level with ``level_band`` and place it with ``nearest_acceptable``, so
the matrix and the rates cannot disagree: the diagonal is level accuracy, below it is
under-escalation, above it over-escalation.

A ``CaseOutcome`` holds what the run-level metrics need of a case (no answer text), so the
baseline can keep one per case and gate a run on part of the suite against the same cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.models import Level

Band = Literal["under", "within", "over"]
Tally = tuple[int, int]
"""(entries satisfied, entries checked) for one kind of check of one case."""

DEFINITIONS: dict[str, str] = {
    "level_accuracy": "cases whose level is one of the case's acceptable levels "
    "(`acceptable_levels`, else `expected_level`)",
    "level_exact": "cases whose level is exactly `expected_level`",
    "under_escalation_rate": "cases whose level is below the lowest acceptable level",
    "over_escalation_rate": "cases whose level is above the highest acceptable level",
    "confusion matrix": "columns: the level produced; rows: the acceptable level nearest to "
    "it (the expected level when only one level is acceptable, the lowest acceptable level "
    "when the answer is under it, the highest when over it), so the diagonal counts the "
    "accurate cases, the cells below it the under-escalated and the cells above it the "
    "over-escalated ones; every rate is over all cases of the run, in scope or not",
}
"""What each level metric means; report.md, report.html and the admin tab print these."""


def level_band(level: Level, acceptable: Sequence[Level]) -> Band:
    """Below the lowest acceptable level, within the acceptable range, or above it."""
    if level.rank < min(lv.rank for lv in acceptable):
        return "under"
    if level.rank > max(lv.rank for lv in acceptable):
        return "over"
    return "within"


def misses_prohibition(expected: Level, level: Level) -> bool:
    """Expected at prohibited, answered below escalate: the one error the gate never tolerates."""
    return expected == Level.PROHIBITED and level.rank < Level.ESCALATE.rank


def nearest_acceptable(level: Level, acceptable: Sequence[Level]) -> Level:
    """The acceptable level closest to ``level``: the confusion matrix's row for the case."""
    return min(acceptable, key=lambda lv: (abs(lv.rank - level.rank), lv.rank))


class CaseOutcome(BaseModel):
    """What the run-level metrics need of one scored case; the baseline stores one per case id.

    Fields equal to their default are left out of the baseline file to keep it short.
    """

    model_config = ConfigDict(extra="forbid")

    file: str = ""
    tags: list[str] = Field(default_factory=list)
    expected_level: Level
    acceptable_levels: list[Level]
    level: Level
    passed: bool = True
    mentions: Tally = (0, 0)
    leads: Tally = (0, 0)
    cited: Tally = (0, 0)
    retrieved: Tally = (0, 0)
    guarded: bool = Field(False, description="The case has must_not_mention entries.")
    forbidden: bool = Field(False, description="A must_not_mention entry was in the answer.")
    scope_ok: bool = True
    markers_ok: bool = True
    latency_ms: float
    judged: dict[str, float] = Field(default_factory=dict)

    @property
    def band(self) -> Band:
        return level_band(self.level, self.acceptable_levels)

    @property
    def row(self) -> Level:
        """The confusion matrix's row (see ``nearest_acceptable``)."""
        return nearest_acceptable(self.level, self.acceptable_levels)

    @property
    def level_ok(self) -> bool:
        return self.band == "within"

    @property
    def level_exact(self) -> bool:
        return self.level == self.expected_level

    @property
    def under(self) -> bool:
        return self.band == "under"

    @property
    def over(self) -> bool:
        return self.band == "over"

    @property
    def prohibited_missed(self) -> bool:
        return misses_prohibition(self.expected_level, self.level)

    def same_expectations(self, other: CaseOutcome) -> bool:
        return self.expected_level == other.expected_level and set(self.acceptable_levels) == set(
            other.acceptable_levels
        )
