"""OFAC remarks: "DOB 10 Sep 1958; POB Dimitrovo, Russia; nationality Russia; a.k.a. 'BNC'."

The legacy CSV keeps dates of birth, nationality and further names only in this free text,
as ``;``-separated items; the reviewer needs them to tell a listed person from a namesake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ITEM = re.compile(
    r"^(?:alt\.\s+)?(?P<key>DOB|POB|nationality|citizen|a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s+(?P<val>.+)$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'([^']+)'")


@dataclass
class Remarks:
    dates_of_birth: list[str] = field(default_factory=list)
    places_of_birth: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def parse_remarks(text: str) -> Remarks:
    out = Remarks()
    for item in (text or "").split(";"):
        item = item.strip().rstrip(".").strip()
        m = _ITEM.match(item)
        if not m:
            continue
        key, value = m.group("key").lower(), m.group("val").strip()
        if key == "dob":
            out.dates_of_birth.append(value)
        elif key == "pob":
            out.places_of_birth.append(value)
        elif key in ("nationality", "citizen"):
            out.nationalities.append(value)
        else:
            out.aliases.extend(a.strip() for a in _QUOTED.findall(value) if a.strip())
    return out


_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DMY = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MY = re.compile(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{4})\b")


@dataclass(frozen=True)
class DateParts:
    """A date of birth as precise as it was written: year, optional month and day."""

    year: int
    month: int | None = None
    day: int | None = None
    circa: bool = False


def parse_dates(text: str) -> list[DateParts]:
    """Every date in a DOB text: "10 Sep 1958", "1958-09-10", "Sep 1958", "circa 1958",
    "1958 to 1960" (each year of the range)."""
    text = text or ""
    circa = "circa" in text.lower()
    out: list[DateParts] = []
    for y, mo, d in _ISO.findall(text):
        out.append(DateParts(int(y), int(mo), int(d), circa))
    for d, mon, y in _DMY.findall(text):
        if mon.lower()[:3] in _MONTHS:
            out.append(DateParts(int(y), _MONTHS[mon.lower()[:3]], int(d), circa))
    if not out:
        for mon, y in _MY.findall(text):
            if mon.lower()[:3] in _MONTHS:
                out.append(DateParts(int(y), _MONTHS[mon.lower()[:3]], None, circa))
    if not out:
        years = [int(y) for y in _YEAR.findall(text)]
        if len(years) == 2 and " to " in text and 0 < years[1] - years[0] <= 20:
            years = list(range(years[0], years[1] + 1))
        out.extend(DateParts(y, None, None, circa) for y in years)
    return out
