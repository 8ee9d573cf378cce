"""Screening one typed name against the list in force, for the Screening tab and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from advisor.chain import Advisor
from advisor.screening import Match, Screener


@dataclass(frozen=True)
class Screened:
    """One name's result and what the list in force says about itself, read just after the
    screen (which re-reads a changed list file), so both describe the same list."""

    name: str
    matches: list[Match]
    threshold: float
    list_description: str
    sample: bool
    warnings: list[str]


def _given(value: str | None) -> str | None:
    """A form field left blank is not given."""
    return (value or "").strip() or None


class ScreeningService:
    """Screens names with the screener ``screener()`` returns at the time of each call: the
    Compliance tab may replace the list (``Advisor.use_screener``) while the app runs."""

    def __init__(self, screener: Callable[[], Screener | None]) -> None:
        self._screener = screener

    @classmethod
    def of(cls, advisor: Advisor) -> ScreeningService:
        return cls(lambda: advisor.screener)

    def screen(
        self,
        name: str,
        country: str | None = None,
        address: str | None = None,
        dob: str | None = None,
        threshold: float | None = None,
    ) -> Screened | None:
        """The matches for ``name``; None when no list is configured. Bad input (an empty
        name, a country that is not ISO-2, an unreadable date) raises InputError."""
        screener = self._screener()
        if screener is None:
            return None
        matches = screener.screen(
            name, _given(country), threshold, address=_given(address), dob=_given(dob)
        )
        return Screened(
            name=(name or "").strip(),
            matches=matches,
            threshold=screener.threshold if threshold is None else float(threshold),
            list_description=screener.describe(),
            sample=screener.is_sample,
            warnings=screener.warnings(),
        )
