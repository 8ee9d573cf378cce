"""The MCP server: its tools in process (fast, fake embeddings), behind the login gate over
ASGI, and on the real app's own server over streamable HTTP with the real ``mcp`` client."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.applications import Starlette

from advisor.chain import Advisor
from advisor.mcp.http import MCP_PATH, mcp_app_kwargs
from advisor.mcp.server import build_server, root_logging_kept
from advisor.models import Answer, Level
from advisor.records.audit import AuditLog
from tests.conftest import REPO, RULES, TEST_CORPUS, running_app
from tests.services.support import CRIMEA, make_advisor

TOOLS = {"ask", "screen", "country", "search_regulations"}
LISTED = "Harbin Institute of Technology"  # on the sample list (Entity List)
CLEAN = "Massachusetts Institute of Technology"
LOOPBACK = "http://127.0.0.1:7860"  # the Host the SDK's rebinding guard expects on loopback


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    return make_advisor(tmp_path_factory.mktemp("mcp"), min_relevance=0.2)


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()


def answer_rows(audit: AuditLog, db: Path) -> list[tuple[Any, ...]]:
    """(channel, level, conversation id, user) of each answer, read from the store itself."""
    audit.flush()
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT channel, level, conversation_id, username FROM audit_log "
            "WHERE kind = 'answer' ORDER BY seq"
        ).fetchall()


async def call(client: Client, tool: str, **arguments: Any) -> CallToolResult:
    return await client.call_tool(tool, arguments)


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return str(text)


# ------------------------------------------------------------------ in process


async def test_the_tools_are_described_for_an_assistant_to_choose(advisor: Advisor) -> None:
    async with Client(build_server(advisor)) as client:
        listed = (await client.list_tools()).tools
        instructions = client.instructions or ""
    assert "none < review < escalate < prohibited" in instructions
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 300, tool.name
        assert "legal advice" in tool.description.lower(), tool.name
        assert tool.title and tool.output_schema and tool.input_schema["properties"], tool.name
        assert all(p.get("description") for p in tool.input_schema["properties"].values())
    ask = next(t for t in listed if t.name == "ask")
    assert "ctx" not in ask.input_schema["properties"]
    assert ask.input_schema["required"] == ["question"]
    assert "none < review < escalate < prohibited" in ask.description  # type: ignore[operator]


async def test_ask_is_the_answer_json_and_is_recorded_as_mcp(
    advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    async with Client(build_server(advisor, audit)) as client:
        result = await call(client, "ask", question=CRIMEA, conversation_id="agent-7")
        plain = await call(client, "ask", question=CRIMEA)
    assert not result.is_error
    answer = Answer.model_validate(result.structured_content)
    assert answer.level == Level.PROHIBITED and answer.bottom_line and answer.citations
    assert result.structured_content == answer.model_dump(mode="json")  # as gr.api ask returns
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    first, second = answer_rows(audit, tmp_path / "audit.sqlite3")
    assert first == ("mcp", "prohibited", "agent-7", None)
    assert second[:2] == ("mcp", "prohibited") and second[2].startswith("mcp-")
    assert not plain.is_error
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("ask", {"question": "   "}, "the question is empty"),
        ("ask", {"question": "licence " * 2000}, "the limit is 4,000"),
        ("ask", {"question": "Can I ship to Iran\ud800?"}, "lone UTF-16 surrogate"),
        ("ask", {"question": CRIMEA, "conversation_id": "no spaces allowed"}, "conversation_id"),
        ("screen", {"name": ""}, "give a name"),
        ("screen", {"name": LISTED, "country": "Narnia"}, "two-letter ISO code"),
        ("screen", {"name": LISTED, "address": "x\udc00"}, "surrogate"),
        ("country", {"name_or_code": ""}, "give a country"),
        ("search_regulations", {"query": " "}, "the query is empty"),
        ("search_regulations", {"query": "deemed export", "jurisdiction": "Mars"}, "US-EAR"),
        ("search_regulations", {"query": "deemed export", "k": 500}, "less than or equal to 20"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(
    advisor: Advisor, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async with Client(build_server(advisor)) as client:
        result = await client.call_tool(tool, arguments)
    assert says in error_text(result)


async def test_screen_gives_each_match_with_its_level_and_the_list_warnings(
    advisor: Advisor,
) -> None:
    async with Client(build_server(advisor)) as client:
        hit = (await call(client, "screen", name=LISTED, country="China")).structured_content
        clean = (await call(client, "screen", name=CLEAN, country="US")).structured_content
    assert hit and clean
    assert hit["level"] == "escalate" and hit["sample"] is True
    assert any("SAMPLE" in w for w in hit["warnings"]) and "SAMPLE" in hit["verdict"]
    match = hit["matches"][0]
    assert match["listed_name"] == LISTED and match["score"] >= 88
    assert match["list_codes"] == ["EL"] and match["level"] == "escalate"
    assert "744.11" in match["citation"] and "country" in " ".join(match["notes"]).lower()
    assert clean["level"] == "none" and clean["matches"] == []
    assert clean["verdict"].startswith("No match")


async def test_country_reads_groups_regime_and_rules_from_places_yaml(advisor: Advisor) -> None:
    async with Client(build_server(advisor)) as client:
        iran = (await call(client, "country", name_or_code="Iran")).structured_content
        same = [
            (await call(client, "country", name_or_code=given)).structured_content
            for given in ("IR", "irn", "Tehran", "Iranian")
        ]
        syria = (await call(client, "country", name_or_code="Syria")).structured_content
        germany = (await call(client, "country", name_or_code="the Netherlands")).structured_content
        atlantis = await call(client, "country", name_or_code="Atlantis")
        typo = await call(client, "country", name_or_code="Rusia")
    assert iran and syria and germany
    assert all(s == iran for s in same)
    groups = {g["id"]: g["name"] for g in iran["groups"]}
    assert "E:1" in groups and "terrorist" in groups["E:1"]
    assert iran["regime"] == "embargo" and iran["embargoed"] and "746.7" in iran["citation"]
    assert iran["highest_level"] == "prohibited" and not iran["confirm"]
    levels = [Level(r["level"]).rank for r in iran["rules"]]
    assert levels == sorted(levels, reverse=True) and "embargo-mention" in str(iran["rules"])
    assert "{places}" not in str(iran["rules"])
    assert syria["confirm"] and "confirm" in syria["note"]
    assert germany["id"] == "NL" and germany["regime"] == "none" and not germany["embargoed"]
    assert "no place 'Atlantis'" in error_text(atlantis) and "Iran" in error_text(atlantis)
    assert "close names: Russia" in error_text(typo)


async def test_search_regulations_cites_passages_and_filters_by_jurisdiction(
    advisor: Advisor,
) -> None:
    async with Client(build_server(advisor)) as client:
        found = await call(client, "search_regulations", query="Crimea licence 746.6", k=3)
        ear = await call(
            client, "search_regulations", query="Crimea licence", jurisdiction="US-EAR", k=4
        )
    passages = found.structured_content["passages"]  # type: ignore[index]
    assert 1 <= len(passages) <= 3
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    first = passages[0]
    assert first["source"].startswith("corpus/") and first["title"] in first["citation"]
    assert "746.6" in passages[0]["text"] and passages[0]["section"]
    assert ear.structured_content and ear.structured_content["jurisdiction"] == "US-EAR"
    assert {p["jurisdiction"] for p in ear.structured_content["passages"]} == {"US-EAR"}


def test_building_the_server_leaves_the_apps_logging_alone(advisor: Advisor) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    build_server(advisor)
    assert (list(root.handlers), root.level) == before
    with root_logging_kept():
        logging.basicConfig(level=logging.DEBUG, handlers=[logging.NullHandler()])
    assert (list(root.handlers), root.level) == before


# ------------------------------------------------------------------ over ASGI, with a login


@asynccontextmanager
async def asgi_client(kwargs: dict[str, Any], headers: dict[str, str]) -> AsyncIterator[Client]:
    """The real client over the route and lifespan that serve() hands to Gradio, in process."""
    app = Starlette(routes=kwargs["routes"])
    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url=LOOPBACK, headers=headers
    )
    transport = streamable_http_client(f"{LOOPBACK}{MCP_PATH}", http_client=http)
    async with kwargs["lifespan"](app), http, Client(transport) as client:
        yield client


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def test_with_a_login_only_app_users_get_in_and_the_record_names_them(
    advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    def login(name: str, password: str) -> bool:
        return (name, password) == ("alice", "correct horse battery")

    server = build_server(advisor, audit)
    kwargs = mcp_app_kwargs(server, advisor.settings, login)
    app = Starlette(routes=kwargs["routes"])
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url=LOOPBACK
    ) as raw:
        for headers in ({}, basic("alice", "wrong"), {"Authorization": "Basic !!"}):
            refused = await raw.post(MCP_PATH, json={}, headers=headers)
            assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
    async with asgi_client(kwargs, basic("alice", "correct horse battery")) as client:
        result = await call(client, "ask", question=CRIMEA)
    assert not result.is_error
    ((channel, _, _, user),) = answer_rows(audit, tmp_path / "audit.sqlite3")
    assert (channel, user) == ("mcp", "alice")


# ------------------------------------------------------------------ the real app, over HTTP


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`python app.py` with the test corpus, as the UI tests start it: MCP is on by default."""
    data = tmp_path_factory.mktemp("mcp-app")
    env = {
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(TEST_CORPUS),
        "ADVISOR_RULES_DIR": str(RULES),
        "ADVISOR_MIN_RELEVANCE": "0.2",
    }
    with running_app(env, REPO, data / "app.log") as url:
        yield {"url": url, "data": data}


async def timed(client: Client, tool: str, **arguments: Any) -> tuple[CallToolResult, float]:
    started = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    return result, (time.perf_counter() - started) * 1000


@pytest.mark.slow
async def test_the_apps_own_server_serves_the_tools_over_streamable_http(
    app_server: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{app_server['url']}{MCP_PATH}"
    async with Client(url) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        asked, cold_ms = await timed(client, "ask", question=CRIMEA, conversation_id="mcp-e2e")
        again, ask_ms = await timed(client, "ask", question=CRIMEA, conversation_id="mcp-e2e")
        hit, screen_ms = await timed(client, "screen", name=LISTED)
        clean, _ = await timed(client, "screen", name=CLEAN, country="US")
        iran, _ = await timed(client, "country", name_or_code="Iran")
        atlantis, _ = await timed(client, "country", name_or_code="Atlantis")
        passages, _ = await timed(client, "search_regulations", query="Crimea licence", k=3)
        empty, _ = await timed(client, "ask", question="")
    with capsys.disabled():
        print(f"\n[mcp latency] first ask {cold_ms:.0f} ms (cold advisor), ask {ask_ms:.0f} ms, "
              f"screen {screen_ms:.0f} ms")
    assert set(listed) == TOOLS and all(t.description and t.input_schema for t in listed.values())
    answer = Answer.model_validate(asked.structured_content)
    assert answer.level == Level.PROHIBITED and answer.bottom_line
    assert any("746.6" in c.text for c in answer.citations)
    assert again.structured_content and again.structured_content["level"] == "prohibited"
    assert hit.structured_content and hit.structured_content["matches"][0]["listed_name"] == LISTED
    assert hit.structured_content["level"] == "escalate" and hit.structured_content["sample"]
    assert clean.structured_content and clean.structured_content["matches"] == []
    assert iran.structured_content and iran.structured_content["regime"] == "embargo"
    assert "E:1" in [g["id"] for g in iran.structured_content["groups"]]
    assert "no place 'Atlantis'" in error_text(atlantis)
    assert passages.structured_content and passages.structured_content["passages"]
    assert "the question is empty" in error_text(empty)
    assert_recorded(app_server["data"] / "audit.sqlite3", "mcp-e2e")


def assert_recorded(db: Path, conversation: str) -> None:
    """The MCP answer is in the audit trail like any other, with its channel."""
    audit = AuditLog(f"sqlite:///{db}")
    try:
        assert audit.verify().ok
    finally:
        audit.close()
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT channel, level, question FROM audit_log WHERE kind = 'answer' "
            "AND conversation_id = ?",
            (conversation,),
        ).fetchall()
    assert rows == [("mcp", "prohibited", CRIMEA)] * 2


@pytest.mark.slow
def test_the_gradio_app_and_its_api_still_answer_beside_mcp(app_server: dict[str, Any]) -> None:
    url = app_server["url"]
    assert httpx.get(url, timeout=10).status_code == 200
    assert httpx.get(f"{url}/gradio_api/info", timeout=10).status_code == 200
    log = (app_server["data"] / "app.log").read_text()
    assert f"* MCP server (streamable HTTP) on http://127.0.0.1:{url.rsplit(':', 1)[1]}/mcp" in log
    assert "* Running on local URL:" in log and "HTTP Request:" not in log
