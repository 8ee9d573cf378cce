"""The Screening tab's verdict text and match table, from a typed screening result."""

from __future__ import annotations

from typing import Any

from advisor.screening import Match
from advisor.services.screening import Screened

NO_LIST = "No screening list is configured (ADVISOR_SCREENING_PATH)."
HEADERS = [
    "Listed party",
    "Matched name",
    "Type",
    "List",
    "Programs",
    "Country",
    "Born",
    "Nationality",
    "Address",
    "Score",
    "Score notes",
    "Level",
]
SAMPLE_WARNING = (
    "⚠️ Using the SAMPLE list shipped with the app, not the current Consolidated "
    "Screening List; load the full list before relying on a result."
)


def verdict_markdown(result: Screened) -> str:
    """The verdict first (matches hold up the export until resolved), then which list was
    used and what is wrong with it, if anything."""
    notes = [f"List in force: {result.list_description}."]
    if result.sample:
        notes.append(SAMPLE_WARNING)
    notes += [f"⚠️ {w}" for w in result.warnings if "SAMPLE" not in w]
    verdict = (
        f"**{len(result.matches)} possible match(es)** for “{result.name}”: do not proceed "
        "until your export control office has resolved them."
        if result.matches
        else f"No match for “{result.name}” at threshold {result.threshold:g}."
    )
    return "\n\n".join([verdict, *notes])


def error_markdown(message: str) -> str:
    return f"⚠️ {message}"


def match_rows(matches: list[Match]) -> list[list[Any]]:
    """One table row per match, in the order of HEADERS."""
    return [
        [
            m.party.name,
            m.matched_name,
            m.party.type,
            "; ".join(m.party.sources),
            ", ".join(m.party.programs),
            m.party.country,
            "; ".join(m.party.dates_of_birth[:3]),
            "; ".join(m.party.nationalities[:3]),
            "; ".join(m.party.addresses[:2]),
            round(m.score, 1),
            "; ".join(m.notes),
            "prohibited" if m.prohibited else "escalate",
        ]
        for m in matches
    ]
