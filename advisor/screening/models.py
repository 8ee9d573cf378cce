"""List entries, what a hit on each source list means, and a loaded list with its provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

EMBARGOED = frozenset({"IR", "KP", "SY", "CU"})
SDN_SOURCE = "Specially Designated Nationals (SDN) - Treasury Department"
_LIST_CODE = re.compile(r"\(([A-Z][A-Z-]+)")


@dataclass(frozen=True)
class ListRule:
    """What a hit on one source list means, and where the rule is written."""

    citation: str
    effect: str
    prohibited: bool = False


LIST_RULES: dict[str, ListRule] = {
    "EL": ListRule(
        "15 CFR 744.11 and Supplement No. 4 to Part 744",
        "Entity List parties need a BIS licence for the items their entry names (often every "
        "item subject to the EAR), and licence exceptions are generally unavailable.",
    ),
    "SDN": ListRule(
        "31 CFR 501 / OFAC SDN list; 31 CFR 560.425 (50% rule)",
        "SDNs are blocked: U.S. persons may not deal with them or with entities they own 50% "
        "or more.",
        prohibited=True,
    ),
    "DPL": ListRule(
        "15 CFR 736.2(b)(4) and 15 CFR 764.3 (denial orders)",
        "A denial order bars the party from any transaction involving items subject to the EAR.",
        prohibited=True,
    ),
    "UVL": ListRule(
        "15 CFR 744.15 and Supplement No. 6 to Part 744",
        "Unverified List parties cannot use licence exceptions and need a UVL statement first.",
    ),
    "MEU": ListRule(
        "15 CFR 744.21 and Supplement No. 7 to Part 744",
        "Listed military end users need a BIS licence for many items subject to the EAR.",
    ),
    "DTC": ListRule(
        "22 CFR 127.7 (ITAR debarment)",
        "Debarred parties may not take part in "
        "exports of defence articles, defence services or technical data.",
    ),
    "ISN": ListRule(
        "State Department nonproliferation sanctions (ISN)",
        "The party is under U.S. nonproliferation sanctions.",
    ),
    "SSI": ListRule(
        "OFAC SSI list; directives under E.O. 13662",
        "Some financing and other dealings with the party are prohibited.",
    ),
    "FSE": ListRule(
        "OFAC FSE list; E.O. 13608",
        "U.S. persons may not transact with a foreign sanctions evader.",
    ),
    "CMIC": ListRule(
        "OFAC NS-CMIC list; E.O. 13959 as amended by E.O. 14032",
        "Buying the party's publicly traded securities is prohibited.",
    ),
    "NS-MBS": ListRule("OFAC NS-MBS list", "Menu-based sanctions restrict some dealings."),
}
DEFAULT_RULE = ListRule(
    "U.S. Consolidated Screening List", "The party is on a U.S. restricted-party list."
)


def list_code(source: str) -> str:
    """ "Entity List (EL) - Bureau of Industry and Security" -> "EL"."""
    m = _LIST_CODE.search(source)
    if m:
        return m.group(1)
    low = source.lower()
    if "specially designated" in low:
        return "SDN"
    if "entity list" in low:
        return "EL"
    return re.sub(r"[^A-Za-z0-9]+", "-", source).strip("-").upper()[:20] or "LIST"


ENTRY_TYPES = ("individual", "entity", "vessel", "aircraft")


class Party(NamedTuple):
    """One list entry as published; ``sources`` are the list names it comes from.

    ``type`` is one of ENTRY_TYPES; ``countries`` are ISO-2 codes from addresses,
    nationality, citizenship and place of birth, for the country check and embargo rule.
    A NamedTuple so that the cached list of ~15,000 entries unpickles quickly.
    """

    id: str
    name: str
    alt_names: tuple[str, ...]
    sources: tuple[str, ...]
    countries: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    type: str = "entity"
    remarks: str = ""
    source_list_url: str = ""
    start_date: str = ""
    dates_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    places_of_birth: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    title: str = ""

    @property
    def country(self) -> str:
        return self.countries[0] if self.countries else ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(list_code(s) for s in self.sources)

    @property
    def rules(self) -> list[ListRule]:
        return [LIST_RULES.get(code, DEFAULT_RULE) for code in self.codes] or [DEFAULT_RULE]

    @property
    def prohibited(self) -> bool:
        return any(r.prohibited for r in self.rules) or bool(set(self.countries) & EMBARGOED)


@dataclass(frozen=True)
class LoadedList:
    """A parsed list file: its entries, its format, its date and the rows skipped."""

    parties: list[Party]
    format: str
    files: tuple[Path, ...]
    list_date: date | None = None
    date_source: str = ""
    skipped: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)
