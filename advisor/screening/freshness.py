"""How old the list in force is, and the warning when it is older than allowed.

A list dated May 2024 must not screen silently in December 2026: every screen, the app and
every answer's flags say so. The warning informs without raising an answer's level (its
flag is level ``none``); the listed-party flags keep their own levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from advisor.models import Flag, Level

STALE_FLAG_ID = "screening-list-stale"


@dataclass(frozen=True)
class Freshness:
    list_date: date | None
    source: str
    today: date
    max_age_days: int

    @property
    def age_days(self) -> int | None:
        return (self.today - self.list_date).days if self.list_date else None

    @property
    def stale(self) -> bool:
        age = self.age_days
        return age is None or age > self.max_age_days

    def describe(self) -> str:
        if self.list_date is None:
            return "list date unknown"
        return f"list dated {self.list_date.isoformat()} ({self.source}), {self.age_days} days old"

    def warning(self) -> str | None:
        """A sentence for the CLI, the app and answers, or None while the list is fresh."""
        if not self.stale:
            return None
        return (
            f"The screening list in force is out of date: {self.describe()}, older than the "
            f"{self.max_age_days} days allowed (ADVISOR_SCREENING_MAX_AGE_DAYS). Download "
            "today's list; parties designated since then are not screened."
        )


def stale_flag(fresh: Freshness) -> Flag | None:
    message = fresh.warning()
    if message is None:
        return None
    return Flag(
        id=STALE_FLAG_ID,
        level=Level.NONE,
        reason=message,
        citation="Restricted-party screening list currency (ADVISOR_SCREENING_MAX_AGE_DAYS)",
        next_step="Ask whoever maintains the advisor to load the current screening list.",
    )
