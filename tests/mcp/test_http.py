"""The login gate's memory of recent good logins: MCP clients send Basic credentials with
every call, and the password hash is slow on purpose."""

from __future__ import annotations

import base64

import httpx as httpx2
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from advisor.mcp.http import LoginGate, VerifiedLogins

LOOPBACK = "http://127.0.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_good_login_is_trusted_until_its_time_runs_out() -> None:
    clock = Clock()
    verified = VerifiedLogins(ttl=60, clock=clock)
    assert not verified.fresh("alice", "pw")
    verified.remember("alice", "pw")
    assert verified.fresh("alice", "pw")
    assert not verified.fresh("alice", "other")  # another password is not the same login
    assert not verified.fresh("bob", "pw")
    clock.now += 61
    assert not verified.fresh("alice", "pw")


def test_the_memory_is_bounded_and_keeps_the_newest() -> None:
    verified = VerifiedLogins(ttl=60, clock=Clock(), size=3)
    for n in range(5):
        verified.remember(f"user{n}", "pw")
    assert [verified.fresh(f"user{n}", "pw") for n in range(5)] == [False, False, True, True, True]


def test_no_password_is_kept_in_the_memory() -> None:
    verified = VerifiedLogins(clock=Clock())
    verified.remember("alice", "correct horse battery")
    kept = b"".join(verified._until)
    assert b"correct horse" not in kept and b"alice" not in kept


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("in")(scope, receive, send)


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def test_the_gate_hashes_a_good_password_once_and_a_wrong_one_every_time() -> None:
    calls: list[tuple[str, str]] = []

    def login(name: str, password: str) -> bool:
        calls.append((name, password))
        return (name, password) == ("alice", "pw")

    app = Starlette(routes=[Route("/mcp", endpoint=LoginGate(_ok, login))])
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=LOOPBACK) as http:
        for _ in range(3):
            good = await http.post("/mcp", headers=_basic("alice", "pw"))
            assert good.status_code == 200 and good.text == "in"
        for _ in range(2):
            bad = await http.post("/mcp", headers=_basic("alice", "wrong"))
            assert bad.status_code == 401
    assert calls.count(("alice", "pw")) == 1
    assert calls.count(("alice", "wrong")) == 2
