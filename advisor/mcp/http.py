"""/mcp on the app's own server: the streamable-HTTP route and its session manager's lifespan,
handed to Gradio's ``launch(app_kwargs=...)`` so the page, the Gradio API and MCP share one
port. When the chat requires login, /mcp asks for the same users (HTTP Basic)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from mcp.server import MCPServer
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from advisor.chain import Advisor
from advisor.mcp.server import USER_SCOPE_KEY, build_server
from advisor.records.sink import AuditSink
from advisor.settings import Settings

MCP_PATH = "/mcp"
MAX_BODY = 1024 * 1024  # a question is at most a few thousand characters; no history is sent
LOGIN_TTL = 300.0  # seconds a verified login is trusted without hashing the password again
Login = Callable[[str, str], bool]


def _basic_credentials(scope: Scope) -> tuple[str, str] | None:
    for key, value in scope.get("headers", []):
        if key == b"authorization" and value[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(value[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            name, _, password = decoded.partition(":")
            return name, password
    return None


class VerifiedLogins:
    """Logins that passed the slow password check in the last ``ttl`` seconds.

    MCP clients send Basic credentials with every tool call; hashing the password each time
    would add half a second per call. Only a keyed digest of a good name and password is
    kept (the key is random per process), never the password, and wrong ones never enter.
    """

    def __init__(
        self, ttl: float = LOGIN_TTL, clock: Callable[[], float] = time.monotonic, size: int = 256
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.size = size
        self._key = secrets.token_bytes(32)
        self._until: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def fresh(self, name: str, password: str) -> bool:
        key = self._digest(name, password)
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= self.clock():
                del self._until[key]
                return False
            return until is not None

    def remember(self, name: str, password: str) -> None:
        now = self.clock()
        with self._lock:
            self._until = {k: t for k, t in self._until.items() if t > now}
            if len(self._until) >= self.size:  # many distinct logins: keep the newest
                self._until.pop(next(iter(self._until)))
            self._until[self._digest(name, password)] = now + self.ttl


class LoginGate:
    """Lets a request through only with the credentials of an app user, checked by the app's
    own login function (with its throttle) off the event loop: the hash is slow on purpose,
    so a login that passed recently is trusted for a few minutes (``VerifiedLogins``)."""

    def __init__(self, app: ASGIApp, login: Login, verified: VerifiedLogins | None = None) -> None:
        self.app = app
        self.login = login
        self.verified = verified or VerifiedLogins()

    def _check(self, name: str, password: str) -> bool:
        if self.verified.fresh(name, password):
            return True
        ok = self.login(name, password)
        if ok:
            self.verified.remember(name, password)
        return ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = _basic_credentials(scope) if scope["type"] == "http" else None
        if given is not None and await anyio.to_thread.run_sync(self._check, *given):
            await self.app({**scope, USER_SCOPE_KEY: given[0]}, receive, send)
            return
        refused = PlainTextResponse(
            "login required: send the HTTP Basic credentials of an export-advisor user",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="export-advisor MCP"'},
        )
        await refused(scope, receive, send)


def mcp_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.port}{MCP_PATH}"


def mcp_app_kwargs(
    server: MCPServer,
    settings: Settings,
    login: Login | None = None,
    announce: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """FastAPI keyword arguments adding /mcp to the app Gradio builds: the route first, so
    no Gradio route shadows it, and a lifespan that runs the session manager with the app.
    Stateless JSON responses: every tool call is one request, nothing streams."""
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=MAX_BODY,
        host=settings.host,  # on loopback the SDK refuses other Host/Origin headers
    )
    endpoint: ASGIApp = inner if login is None else LoginGate(inner, login)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        async with server.session_manager.run():
            if announce is not None:  # the edge that started the server says where
                announce(f"* MCP server (streamable HTTP) on {mcp_url(settings)}")
            yield

    return {"routes": [Route(MCP_PATH, endpoint=endpoint)], "lifespan": lifespan}


def mcp_for_app(
    advisor: Advisor,
    audit: AuditSink | None,
    login: Login | None,
    announce: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The app's MCP server, ready for ``launch(app_kwargs=...)``."""
    return mcp_app_kwargs(build_server(advisor, audit), advisor.settings, login, announce)
