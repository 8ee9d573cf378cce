"""A place as the rules engine sees it (corpus/rules/places.yaml): groups, regime, the rules
that name it. Read from the rules in force, so an edit by the office shows on the next call."""

from __future__ import annotations

import re
from typing import Literal

from rapidfuzz import fuzz, process

from advisor.errors import InputError
from advisor.mcp.results import GroupInfo, PlaceResult, PlaceRule
from advisor.models import Level
from advisor.rules.escalation import PlaceSpec, RuleSet, RuleSpec
from advisor.rules.facts import atoms_of
from advisor.screening.countries import to_iso2
from advisor.text import normalise

Side = Literal["destination", "nationality"]
SIDES: tuple[tuple[Side, str], ...] = (("destination", "dest"), ("nationality", "nat"))
MAX_PLACE_CHARS = 200
REGIME_MEANINGS = {
    "embargo": "Comprehensive U.S. embargo: almost every export, service or payment needs an "
    "OFAC or BIS authorisation, and some are prohibited outright.",
    "occupied_region": "Russian-occupied region of Ukraine under comprehensive restrictions.",
    "russia_belarus": "Russia/Belarus sanctions: a licence is required for every item on the "
    "Commerce Control List and for many EAR99 items.",
    "watch": "Coverage is not settled in the rules: the office must confirm the current status.",
    "none": "No country-wide regime in the rules; its Country Groups still decide licence needs.",
}


def _key(text: str) -> str:
    """Case, spacing, punctuation and a leading "the" do not make another place."""
    text = re.sub(r"^cs:", "", text.strip())
    text = re.sub(r"[\s.,'’-]+", " ", text.casefold()).strip()
    return re.sub(r"^the ", "", text)


def _labels(place: PlaceSpec) -> list[str]:
    return [place.id, place.name, *place.names, *place.demonyms, *place.cities]


def find_place(rules: RuleSet, text: str) -> PlaceSpec:
    """The place named by an id, ISO code, name, demonym or city; InputError listing close
    names when none is."""
    given = normalise(text or "", "the place").strip()
    if not given:
        raise InputError("give a country or region, e.g. Iran, IR or Crimea")
    if len(given) > MAX_PLACE_CHARS:
        raise InputError(f"the place is {len(given)} characters; the limit is {MAX_PLACE_CHARS}")
    key = _key(given)
    for place in rules.places.values():
        if key in {_key(label) for label in _labels(place)}:
            return place
    code = to_iso2(given.upper() if len(given) == 2 else given)
    if code is not None and code in rules.places:
        return rules.places[code]
    raise InputError(_not_found(rules, given, key))


def _not_found(rules: RuleSet, given: str, key: str) -> str:
    names = {_key(label): place.name for place in rules.places.values() for label in _labels(place)}
    close = process.extract(key, list(names), scorer=fuzz.WRatio, limit=8, score_cutoff=75)
    suggestions = list(dict.fromkeys(names[label] for label, _, _ in close))[:5]
    if suggestions:
        hint = "close names: " + "; ".join(suggestions)
    else:
        hint = "the rules know: " + "; ".join(p.name for p in rules.places.values())
    return (
        f"no place {given!r} in the rules (corpus/rules/places.yaml); {hint}. A place the "
        "rules do not name has no Country Group data here: ask your export control office."
    )


def _fill(template: str, place: PlaceSpec) -> str:
    values = {"places": place.name, "items": "the items", "missing": "the missing facts"}
    return re.sub(r"\{(places|items|missing)\}", lambda m: values[m.group(1)], template)


def _applies_to(rule: RuleSpec, place: PlaceSpec) -> Side | None:
    """Whether a rule's required or alternative conditions name the place, its groups or its
    regime, for a destination or a person's nationality (its ``none`` list only excludes)."""
    atoms = {a for entry in [*rule.when.all, *rule.when.any] for a in atoms_of(entry)}
    for side, prefix in SIDES:
        own = {f"{prefix}:{place.id}", *(f"{prefix}_group:{g}" for g in place.groups)}
        if place.regime != "none":
            own.add(f"{prefix}_regime:{place.regime}")
        if atoms & own:
            return side
    return None


def place_result(rules: RuleSet, place: PlaceSpec) -> PlaceResult:
    """The place with its Country Groups named and the rules that can fire for it."""
    found: list[PlaceRule] = []
    for rule in rules.rules:
        side = _applies_to(rule, place)
        if side is not None:
            found.append(
                PlaceRule(
                    id=rule.id,
                    level=rule.level,
                    applies_to=side,
                    reason=_fill(rule.reason, place),
                    citation=rule.citation,
                )
            )
    found.sort(key=lambda r: -r.level.rank)
    groups = [
        GroupInfo(id=g, name=rules.groups[g].name, citation=rules.groups[g].citation)
        for g in place.groups
        if g in rules.groups
    ]
    return PlaceResult(
        id=place.id,
        name=place.name,
        kind=place.kind,
        names=[n.removeprefix("cs:") for n in place.names if n != place.name],
        groups=groups,
        regime=place.regime,
        regime_meaning=REGIME_MEANINGS.get(place.regime, ""),
        embargoed=place.regime == "embargo",
        citation=place.citation,
        note=place.note,
        confirm="confirm" in f"{place.citation} {place.note}".casefold(),
        rules=found,
        highest_level=Level.highest([r.level for r in found]),
    )
