"""What the MCP tools return, as typed models: their JSON schemas are the tools' published
output schemas, so an assistant knows the fields before it calls."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from advisor.models import Level
from advisor.rules.escalation import Regime

NOT_ADVICE = (
    "Not legal advice: a level above none, or any possible match, goes to your export "
    "control office before anyone proceeds."
)


class ScreenMatch(BaseModel):
    """One list entry the name resembles, with the level a hit on its lists sets."""

    listed_name: str = Field(description="The entry's primary name on the list.")
    matched_name: str = Field(description="The name or alias of the entry that matched.")
    score: float = Field(description="Match score 0-100; the threshold decides what counts.")
    type: str = Field(description="individual, entity, vessel or aircraft.")
    lists: list[str] = Field(description="The source lists the entry is on.")
    list_codes: list[str] = Field(description="Short codes of those lists (EL, SDN, DPL, ...).")
    programs: list[str] = Field(description="Sanctions programmes named by the entry.")
    countries: list[str] = Field(description="ISO-2 codes from addresses and nationality.")
    dates_of_birth: list[str] = Field(default_factory=list)
    nationalities: list[str] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    level: Level = Field(description="escalate, or prohibited for blocked/denied parties.")
    reason: str = Field(description="What a hit on these lists means, and what moved the score.")
    citation: str = Field(description="Where the rule for these lists is written.")
    notes: list[str] = Field(default_factory=list, description="What raised or lowered the score.")
    entry_id: str = ""
    source_list_url: str = ""


class ScreenResult(BaseModel):
    name: str
    level: Level = Field(description="Highest level of the matches; none when nothing matched.")
    verdict: str = Field(description="One sentence saying what the result means.")
    matches: list[ScreenMatch]
    threshold: float
    list_description: str = Field(description="Format, entries and date of the list in force.")
    sample: bool = Field(description="True when the list is the bundled SAMPLE, not the real one.")
    warnings: list[str] = Field(description="What is wrong with the list itself, if anything.")
    next_step: str
    disclaimer: str = NOT_ADVICE


class GroupInfo(BaseModel):
    id: str = Field(description="EAR Country Group, e.g. E:1.")
    name: str
    citation: str


class PlaceRule(BaseModel):
    """A rule that names the place; it fires only when its other conditions hold too."""

    id: str
    level: Level
    applies_to: Literal["destination", "nationality"]
    reason: str
    citation: str


class PlaceResult(BaseModel):
    id: str = Field(description="The rules' id: ISO-2 for countries (IR), a name for regions.")
    name: str
    kind: Literal["country", "region"]
    names: list[str] = Field(description="Other names the rules recognise for it.")
    groups: list[GroupInfo] = Field(description="EAR Country Groups it belongs to.")
    regime: Regime = Field(
        description="embargo, occupied_region, russia_belarus, watch (status to confirm) or none."
    )
    regime_meaning: str
    embargoed: bool = Field(description="Under a comprehensive embargo (regime embargo).")
    citation: str
    note: str = Field(description="The office's note, e.g. a status that is moving.")
    confirm: bool = Field(description="True when the rules mark the status as one to confirm.")
    rules: list[PlaceRule] = Field(
        description="Rules naming this place, highest level first; each applies only when its "
        "other facts hold, so ask about the situation for a decision."
    )
    highest_level: Level = Field(description="The highest level any of those rules can set.")
    disclaimer: str = NOT_ADVICE


class Passage(BaseModel):
    """A corpus passage, cited the way answers cite theirs."""

    rank: int
    title: str
    section: str | None = Field(description="Regulation section (15 CFR 746.8) or heading path.")
    page: int | None
    source: str = Field(description="The corpus file the passage comes from.")
    jurisdiction: str
    doc_type: str
    citation: str = Field(description="A citation line: title, section, page, version.")
    score: float = Field(description="Cosine similarity to the query (higher is closer).")
    text: str
    version: str | None = None
    effective_date: str | None = None
    doc_id: str
    chunk_id: str


class SearchResult(BaseModel):
    query: str
    jurisdiction: str | None
    passages: list[Passage]
    note: str = Field(
        "Passages carry no escalation level; use ask for a decision on a situation.",
        description="How to read the passages.",
    )
