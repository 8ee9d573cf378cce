"""The MCP tools as plain methods over the services the chat and the CLI use, so an agent's
answer is the same answer, recorded the same way (channel ``mcp``). Bad input raises
``InputError``; the MCP layer turns it into a tool error."""

from __future__ import annotations

import re

from advisor.chain import Advisor
from advisor.corpus.retrieval import CorpusRetriever
from advisor.errors import InputError
from advisor.mcp.places import find_place, place_result
from advisor.mcp.results import Passage, PlaceResult, ScreenMatch, ScreenResult, SearchResult
from advisor.models import Answer, Jurisdiction, Level, ScoredChunk
from advisor.records.sink import AuditSink
from advisor.screening import NEXT_STEP, Match, flag_for, list_code
from advisor.screening.countries import to_iso2
from advisor.services.answering import AnsweringService, Origin
from advisor.services.screening import Screened, ScreeningService
from advisor.text import check_text, normalise
from advisor.writing.answer import citation_for

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_FIELD_CHARS = 300  # address and date of birth; the screener caps the name itself
MAX_RESULTS = 20
NO_MATCH_STEP = "Nothing from screening; the rest of the situation may still need a check (ask)."


class AdvisorTools:
    """ask, screen, country and search_regulations over one advisor and its audit trail."""

    def __init__(self, advisor: Advisor, audit: AuditSink | None = None) -> None:
        self.advisor = advisor
        self.answering = AnsweringService(advisor, audit)
        self.screening = ScreeningService.of(advisor)

    def ask(
        self, question: str, conversation_id: str | None = None, user: str | None = None
    ) -> Answer:
        """The Answer the chat would give, recorded with channel ``mcp``."""
        if conversation_id is None or not conversation_id.strip():
            origin = Origin.single("mcp", user)
        elif CONVERSATION_ID.match(conversation_id.strip()):
            origin = Origin("mcp", conversation_id.strip(), user)
        else:
            raise InputError(
                "conversation_id must be 1-64 letters, digits or . _ : - (or left out)"
            )
        return self.answering.ask(question, origin).answer

    def screen(
        self,
        name: str,
        country: str | None = None,
        address: str | None = None,
        date_of_birth: str | None = None,
    ) -> ScreenResult:
        """The name against the list in force, each match with the level it sets."""
        check_text(name or "", "the name")
        for what, value in (("the address", address), ("the date of birth", date_of_birth)):
            check_text(value or "", what)
            if value is not None and len(value) > MAX_FIELD_CHARS:
                limit = MAX_FIELD_CHARS
                raise InputError(f"{what} is {len(value)} characters; the limit is {limit}")
        done = self.screening.screen(name, _country(country), address, date_of_birth)
        if done is None:
            raise InputError("no screening list is configured (ADVISOR_SCREENING_PATH)")
        return screen_result(done)

    def country(self, name_or_code: str) -> PlaceResult:
        """The place from the rules in force."""
        rules = self.advisor.escalation.rules
        return place_result(rules, find_place(rules, name_or_code))

    def search_regulations(
        self, query: str, jurisdiction: Jurisdiction | None = None, k: int = 5
    ) -> SearchResult:
        """Corpus passages for a query, optionally from one jurisdiction only."""
        text = normalise(query or "", "the query").strip()
        if not text:
            raise InputError("the query is empty; give a topic, a term or a section number")
        limit = self.advisor.settings.max_question_chars
        if len(text) > limit:
            raise InputError(f"the query is {len(text):,} characters long; the limit is {limit:,}")
        if not 1 <= k <= MAX_RESULTS:
            raise InputError(f"k must be 1-{MAX_RESULTS}, not {k}")
        hits = _retrieve(self.advisor.retriever, text, jurisdiction, k)
        return SearchResult(
            query=text,
            jurisdiction=jurisdiction,
            passages=[passage(n, hit) for n, hit in enumerate(hits, start=1)],
        )


def _retrieve(
    retriever: CorpusRetriever, text: str, jurisdiction: str | None, k: int
) -> list[ScoredChunk]:
    filters: dict[str, str | list[str]] | None = (
        {"jurisdiction": jurisdiction} if jurisdiction else None
    )
    return retriever.retrieve(text, k=k, filters=filters)[:k]


def _country(country: str | None) -> str | None:
    """An ISO-2 code, or a country name turned into one (the screener takes codes only)."""
    given = (country or "").strip()
    if not given:
        return None
    code = to_iso2(given.upper() if len(given) == 2 else given)
    if code is None:
        raise InputError(
            f"country must be a two-letter ISO code such as CN or a country name, not {given!r}"
        )
    return code


def screen_match(match: Match) -> ScreenMatch:
    party = match.party
    flag = flag_for(match)
    return ScreenMatch(
        listed_name=party.name,
        matched_name=match.matched_name,
        score=round(match.score, 1),
        type=party.type,
        lists=list(party.sources),
        list_codes=[list_code(s) for s in party.sources],
        programs=list(party.programs),
        countries=list(party.countries),
        dates_of_birth=list(party.dates_of_birth),
        nationalities=list(party.nationalities),
        addresses=list(party.addresses),
        level=flag.level,
        reason=flag.reason,
        citation=flag.citation,
        notes=list(match.notes),
        entry_id=party.id,
        source_list_url=party.source_list_url,
    )


def screen_result(done: Screened) -> ScreenResult:
    matches = [screen_match(m) for m in done.matches]
    level = Level.highest([m.level for m in matches])
    verdict = (
        f"{len(matches)} possible match(es) for {done.name!r}: do not proceed until your "
        "export control office has resolved them."
        if matches
        else f"No match for {done.name!r} at threshold {done.threshold:g}."
    )
    if done.sample:
        verdict += " The list in force is the SAMPLE shipped with the app, not the real list."
    return ScreenResult(
        name=done.name,
        level=level,
        verdict=verdict,
        matches=matches,
        threshold=done.threshold,
        list_description=done.list_description,
        sample=done.sample,
        warnings=done.warnings,
        next_step=NEXT_STEP if matches else NO_MATCH_STEP,
    )


def passage(rank: int, hit: ScoredChunk) -> Passage:
    cited = citation_for(rank, hit)
    chunk = hit.chunk
    return Passage(
        rank=rank,
        title=cited.title,
        section=cited.section,
        page=cited.page,
        source=cited.source,
        jurisdiction=chunk.jurisdiction,
        doc_type=chunk.doc_type,
        citation=", ".join([cited.title, *cited.location()]),
        score=round(hit.score, 4),
        text=cited.text,
        version=cited.version,
        effective_date=cited.effective_date,
        doc_id=cited.doc_id,
        chunk_id=cited.chunk_id,
    )
