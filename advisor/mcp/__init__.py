"""The advisor's tools (ask, screen, country, search_regulations) over MCP, served at /mcp on
the app's own server (streamable HTTP). ``build_server`` makes the server; ``advisor.mcp.http``
mounts it."""

from advisor.mcp.server import build_server

__all__ = ["build_server"]
