"""Restricted-party screening against the official lists (OFAC SDN, trade.gov CSL).

Names mentioned in a question are matched against list names and aliases; a hit is a Flag
that no model can lower. ``formats`` reads the files as published, ``names`` normalises and
compares name parts, ``matching`` scores, ``cache`` keeps the index between runs,
``freshness`` warns about old lists and ``screener`` puts them together.
"""

from advisor.screening.formats import load_list, load_screening_list
from advisor.screening.freshness import STALE_FLAG_ID, Freshness
from advisor.screening.models import EMBARGOED, LIST_RULES, ListRule, LoadedList, Party, list_code
from advisor.screening.names import name_tokens, normalise_name
from advisor.screening.screener import (
    NEXT_STEP,
    Match,
    Screener,
    country_code,
    flag_for,
    screener_from_settings,
)

__all__ = [
    "EMBARGOED",
    "LIST_RULES",
    "NEXT_STEP",
    "STALE_FLAG_ID",
    "Freshness",
    "ListRule",
    "LoadedList",
    "Match",
    "Party",
    "Screener",
    "country_code",
    "flag_for",
    "list_code",
    "load_list",
    "load_screening_list",
    "name_tokens",
    "normalise_name",
    "screener_from_settings",
]
