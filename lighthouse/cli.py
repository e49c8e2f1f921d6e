"""The `lighthouse` command: run, worker, migrate, check, apply, healthcheck, verify, keys, mcp,
payments, version, and the operator's commands (monitor, channel, user, maintenance:
lighthouse/admin_cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import urllib.error
import urllib.request
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from lighthouse import admin_cli, apply_cli, mcp_cli, payments_cli, status_cli, verify_cli
from lighthouse.core.errors import ConfigurationError, LighthouseError
from lighthouse.core.jsonsafe import safe_json_loads


def _version() -> str:
    try:
        return version("lighthouse-monitor")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def _settings(**overrides: Any) -> Any:
    from lighthouse.core.settings import load_settings

    return load_settings(**overrides)


def cmd_run(args: argparse.Namespace, role: str) -> int:
    from lighthouse.core.logging import setup_logging
    from lighthouse.runtime import serve

    settings = _settings()
    setup_logging(settings.log_level, settings.log_format)
    code: int = asyncio.run(serve(settings, role))  # type: ignore[arg-type]
    # Everything is stopped and flushed by now. The interpreter's final garbage collection
    # of the whole module graph (web3, MCP, ...) took ~3 s of the 10 s a SIGTERM may take
    # (docs/reliability.md); frozen objects are left to the exit.
    gc.freeze()
    return code


def cmd_migrate(_args: argparse.Namespace) -> int:
    from lighthouse.core.logging import setup_logging
    from lighthouse.runtime import open_core

    settings = _settings()
    setup_logging(settings.log_level, settings.log_format)

    async def go() -> str:
        async with open_core(settings) as core:
            return core.mode

    mode = asyncio.run(go())
    print(f"migrations applied (storage mode: {mode})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """One check, printed as JSON: exit 0 when up, 1 when down, 2 on a bad config."""
    from lighthouse.core.checks import get_check_type, parse_config
    from lighthouse.core.checks.base import CheckContext, PreflightContext
    from lighthouse.core.checks.runner import run_check
    from lighthouse.core.http_client import make_session
    from lighthouse.core.netguard import TargetGuard

    settings = _settings()
    type_name = args.type
    try:
        raw: Any = safe_json_loads(args.config) if args.config else {}
    except ValueError as exc:
        print(json.dumps({"error": {"code": "invalid_input", "message": f"--config: {exc}"}}))
        return 2
    if args.url:
        if not isinstance(raw, dict):
            raw = {}
        raw.setdefault("url", args.url)
    guard = TargetGuard(settings.allow_private_targets)

    async def go() -> int:
        try:
            check = get_check_type(type_name)
            parsed = parse_config(type_name, raw)
        except LighthouseError as exc:
            print(json.dumps({"error": exc.to_dict()}, default=str))
            return 2
        try:
            await check.preflight(parsed, PreflightContext(guard))
        except LighthouseError as exc:
            print(json.dumps({"ok": False, "error": exc.to_dict()}, default=str))
            return 1
        async with make_session(guard) as session:
            result = await run_check(type_name, parsed.model_dump(mode="json"),
                                     CheckContext(session=session, guard=guard))
        out = {"type": type_name, "target": check.describe(parsed), **result.to_dict(),
               # each condition's outcome up front (details keeps them too, as stored)
               "conditions": result.details.get("conditions", []),
               "signals": [asdict(s) for s in result.signals]}
        if args.sign:
            out = verify_cli.sign_check_output(out, settings)
        print(json.dumps(out, default=str, indent=2))
        return 0 if result.ok else 1

    return asyncio.run(go())


def cmd_healthcheck(args: argparse.Namespace) -> int:
    url = args.url
    if url is None:
        settings = _settings()
        url = f"http://127.0.0.1:{settings.api_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as resp:
            body = safe_json_loads(resp.read())
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: HTTP {exc.code} {exc.read()[:200]!r}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"unhealthy: {body}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lighthouse", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="API, chat bots, scheduler and alert delivery in one process")
    sub.add_parser("worker", help="scheduler and alert delivery only (scale out)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    c = sub.add_parser("check", help="run one check now and print the result")
    c.add_argument("url", nargs="?", help="URL to check (HTTP shorthand)")
    c.add_argument("--type", default="http", help="check type (http, tcp, dns, ...)")
    c.add_argument("--config", help="the check's config as JSON")
    c.add_argument("--sign", action="store_true", help="sign the result (verify with `lighthouse verify`)")
    h = sub.add_parser("healthcheck", help="exit 0 when /health answers ok (container probe)")
    h.add_argument("--url", help="default http://127.0.0.1:$API_PORT/health")
    h.add_argument("--timeout", type=float, default=5.0)
    sub.add_parser("version", help="print the version")
    verify_cli.register(sub)
    mcp_cli.register(sub)
    payments_cli.register(sub)
    apply_cli.register(sub)
    admin_cli.register(sub)  # monitor, channel, user, maintenance (lighthouse/admin_cli.py)
    status_cli.register(sub)  # public status pages (lighthouse/status_cli.py)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "handler"):  # subcommands registered by their own modules
            return int(args.handler(args))
        if args.command == "run":
            return cmd_run(args, "all")
        if args.command == "worker":
            return cmd_run(args, "worker")
        if args.command == "migrate":
            return cmd_migrate(args)
        if args.command == "check":
            if not args.url and not args.config:
                print("lighthouse check: give a URL or --config", file=sys.stderr)
                return 2
            return cmd_check(args)
        if args.command == "healthcheck":
            return cmd_healthcheck(args)
        if args.command == "apply":
            return apply_cli.run(args)
        print(_version())
        return 0
    except ConfigurationError as exc:
        print(f"lighthouse: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
