"""`lighthouse mcp`: the MCP server over stdio, for agents that start their tools as a
subprocess (the same tools as ``/mcp`` on the API, api/mcp_server.py).

It opens the same storage as the service (``DATABASE_URL``, ``REDIS_URL``; the embedded
servers otherwise) and the same payment settings, so a payment made here reserves its
nonce in the same table as the HTTP API's: a payload is served once across both. Pending
settlements it leaves behind are decided by the service's reconciler. Standard output is
the protocol: logs go to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("mcp", help="MCP server over stdio (the tools of /mcp)")
    p.set_defaults(handler=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from lighthouse.core.logging import setup_logging
    from lighthouse.core.settings import load_settings

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)  # stderr: stdout carries MCP
    return asyncio.run(serve_stdio(settings))


async def serve_stdio(settings: Any) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from mcp.server.stdio import stdio_server

    from lighthouse.api.mcp_server import build_server
    from lighthouse.api.routes import build_api, verify_domains
    from lighthouse.runtime import open_core

    try:
        release = version("lighthouse-monitor")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        release = "0+unknown"
    async with open_core(settings) as core:
        api = build_api(settings, core.pool, core.service, metrics=core.metrics)
        try:
            await verify_domains(api)  # a network whose EIP-712 domain is wrong is not offered
            server = build_server(api.mcp.tools, version=release)  # the HTTP app's tools
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        finally:
            if api.facilitator is not None:
                await api.facilitator.close()
    return 0
