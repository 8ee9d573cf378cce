"""The advisor's tools as an MCP server: an edge like the chat and the CLI. Each tool is a thin
adapter over ``AdvisorTools``; its description is what an assistant chooses it by, so it says
what the tool does, when to use it, and how to read what comes back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from advisor import __version__
from advisor.chain import Advisor
from advisor.errors import AdvisorError
from advisor.mcp.results import PlaceResult, ScreenResult, SearchResult
from advisor.mcp.tools import MAX_RESULTS, AdvisorTools
from advisor.models import Answer, Jurisdiction
from advisor.records.sink import AuditSink

USER_SCOPE_KEY = "advisor.user"  # set by the HTTP gate once it has checked the login
LEVELS = (
    "Levels, lowest to highest: none < review < escalate < prohibited; they come from "
    "deterministic rules, never from a model."
)
INSTRUCTIONS = (
    "export-advisor gives cited, conservative export-control answers for university research "
    "(EAR, ITAR, OFAC, EU, UK, Wassenaar) from a curated corpus. Use ask for a situation, "
    "screen for a named party, country for a place's Country Groups and embargo status, and "
    "search_regulations for the regulation text. " + LEVELS + " Relay the level, the bottom "
    "line and the citations as given. Nothing here is legal advice: anything above none goes "
    "to {office}."
)
ASK = (
    "Answer an export-control question about a research situation: sharing code, data or "
    "technology, foreign students or visitors, collaborating with or hiring a foreign party, "
    "travelling with devices, shipping, publishing, cloud access. Use it whenever the user "
    "describes something they want to do, with whom and where; put every fact in the question "
    "(each call is answered on its own; conversation_id only groups calls in the audit trail). "
    "Returns the Answer JSON: level (none < review < escalate < prohibited, set by rules), "
    "bottom_line (one or two sentences with [n] markers), answer (markdown), flags (each "
    "reason with its regulation citation and next step), citations (the passages behind "
    "[n]), missing (facts that would change the answer), in_scope (false: not an export "
    "control question). Every answer is recorded in the audit trail (channel mcp). "
    "Not legal advice: above none, the user must contact {office}."
)
SCREEN = (
    "Screen one organisation or person against the restricted-party list in force (U.S. "
    "Consolidated Screening List: Entity List, SDN, Denied Persons, Unverified List, military "
    "end users and others). Use it before sharing with, shipping to, hosting or collaborating "
    "with a named foreign party. country (ISO-2 code or name), address and date_of_birth are "
    "optional and raise or lower each score. Returns level (none without a match; escalate for "
    "a possible match; prohibited for blocked or denied parties and embargoed countries), each "
    "match with score 0-100, lists, programs, the level it sets and the rule's citation, and "
    "the list's own warnings (a SAMPLE or stale list must not be relied on). A similar name is "
    "not proof of identity: {office} resolves possible matches. Not legal advice."
)
COUNTRY = (
    "Look up a country or region as the advisor's rules see it: its EAR Country Groups "
    "(A:1, A:5, A:6, D:1, D:5, E:1, E:2, MI) with their names, its regime (embargo, "
    "occupied_region, russia_belarus, watch, none), whether it is embargoed, the citation, a "
    "note when its status is moving and must be confirmed, and the destination and nationality "
    "rules that name it with the level each can set (none < review < escalate < prohibited). "
    "Use it for 'is X embargoed?' or 'which Country Groups is X in?'; use ask for a whole "
    "situation, since a rule applies only when its other facts hold. Takes English names, "
    "ISO codes (IR, IRN), demonyms or cities; an unknown place is an error listing close "
    "names. Not legal advice: confirm with {office}."
)
SEARCH = (
    "Search the curated corpus (EAR 15 CFR, ITAR 22 CFR, OFAC 31 CFR, EU and UK rules, "
    "Wassenaar, the institution's guidance, checklists and FAQs) and return the best passages, "
    "most relevant first, each with its source file, title, section (e.g. 15 CFR 746.8), page, "
    "a citation line and a similarity score. Use it to quote or check the text behind an "
    "answer or to find where a topic is covered; filter by jurisdiction. Passages carry no "
    "escalation level: use ask for a decision on a situation. Not legal advice."
)

Question = Annotated[
    str,
    Field(description="The situation in plain words: what, with whom, where (one question)."),
]
ConversationId = Annotated[
    str | None,
    Field(description="Optional id (1-64 of A-Z a-z 0-9 . _ : -) grouping calls in the audit."),
]
Name = Annotated[str, Field(description="The organisation's or person's name as written.")]
Country = Annotated[str | None, Field(description="Optional country: ISO-2 code or name.")]
Address = Annotated[str | None, Field(description="Optional address or city of the party.")]
Born = Annotated[str | None, Field(description="Optional date of birth, e.g. 1958-09-10.")]
Place = Annotated[str, Field(description="Country or region: name, ISO code, demonym or city.")]
Query = Annotated[str, Field(description="Topic, term or section, e.g. 'deemed export 734.13'.")]
JurisdictionFilter = Annotated[
    Jurisdiction | None, Field(description="Only passages of this jurisdiction.")
]
Count = Annotated[int, Field(ge=1, le=MAX_RESULTS, description="How many passages (1-20).")]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
RECORDED = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


T = TypeVar("T")


def guarded(call: Callable[[], T]) -> T:
    """Bad input and store trouble reach the assistant as a tool error with the advisor's own
    message; anything else is the SDK's generic error, the traceback only in the server log."""
    try:
        return call()
    except AdvisorError as exc:
        raise ToolError(str(exc)) from None


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """MCPServer configures the root logger (handlers, INFO level); the app keeps its own."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def user_of(ctx: Context) -> str | None:
    """The user the HTTP gate let in (None without a login, or in-process)."""
    request = ctx.request_context.request
    scope = getattr(request, "scope", None)
    user = scope.get(USER_SCOPE_KEY) if isinstance(scope, dict) else None
    return user if isinstance(user, str) else None


def build_server(advisor: Advisor, audit: AuditSink | None = None) -> MCPServer:
    """The four tools over one advisor; answers go to ``audit`` like every other answer."""
    tools = AdvisorTools(advisor, audit)
    office = advisor.settings.office_contact
    with root_logging_kept():
        server: MCPServer = MCPServer(
            "export-advisor",
            title="export-advisor",
            instructions=INSTRUCTIONS.format(office=office),
            version=__version__,
        )

    @server.tool(
        title="Ask the export-control advisor",
        description=ASK.format(office=office),
        annotations=RECORDED,
    )
    def ask(ctx: Context, question: Question, conversation_id: ConversationId = None) -> Answer:
        return guarded(lambda: tools.ask(question, conversation_id, user_of(ctx)))

    @server.tool(
        title="Screen a restricted party",
        description=SCREEN.format(office=office),
        annotations=READ_ONLY,
    )
    def screen(
        name: Name, country: Country = None, address: Address = None, date_of_birth: Born = None
    ) -> ScreenResult:
        return guarded(lambda: tools.screen(name, country, address, date_of_birth))

    @server.tool(
        title="Country Groups and embargo status",
        description=COUNTRY.format(office=office),
        annotations=READ_ONLY,
    )
    def country(name_or_code: Place) -> PlaceResult:
        return guarded(lambda: tools.country(name_or_code))

    @server.tool(title="Search the regulations", description=SEARCH, annotations=READ_ONLY)
    def search_regulations(
        query: Query, jurisdiction: JurisdictionFilter = None, k: Count = 5
    ) -> SearchResult:
        return guarded(lambda: tools.search_regulations(query, jurisdiction, k))

    return server
