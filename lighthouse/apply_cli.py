"""`lighthouse apply [--dry-run] [FILE]`: apply a monitors-as-code file (core/config_file/)
and print what changed, one line each (+ add, ~ change, - remove).

Exit codes: 0 applied (or planned), 2 the file or a setting is refused (every problem is
printed as file:line; nothing was changed), 1 anything else (the database unreachable).
A running service applies the same file on SIGHUP; both may run at once (they take turns).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the command runs: `lighthouse version` stays instant
    from lighthouse.core.config_file.apply import ApplyReport
    from lighthouse.core.settings import Settings


def register(subparsers: Any) -> None:
    """Add the `apply` command to the `lighthouse` parser (lighthouse/cli.py)."""
    p = subparsers.add_parser("apply", help="apply a monitors-as-code file (default: LIGHTHOUSE_CONFIG)")
    p.add_argument("file", nargs="?", help="the YAML file (default: LIGHTHOUSE_CONFIG, ./lighthouse.yaml)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")


def run(args: argparse.Namespace) -> int:
    from lighthouse import operator_texts as say
    from lighthouse.core.config_file.document import ConfigFileError
    from lighthouse.core.settings import load_settings

    lang = say.operator_language()
    settings = load_settings()
    path = Path(args.file) if args.file else settings.config_file
    if path is None:
        print(say.apply_no_file(lang), file=sys.stderr)
        return 2
    # The plan is the output; the service's start-up lines would only bury it.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        report = asyncio.run(_apply(settings, path, dry_run=args.dry_run))
    except ConfigFileError as exc:
        print(exc.render(lang), file=sys.stderr)
        print(say.apply_refused(lang, str(path)), file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    for name, token in report.tokens.items():
        print(f"ping URL of {name!r} (shown once, keep it): {_ping_url(settings, token)}")
    return 0


async def _apply(settings: Settings, path: Path, *, dry_run: bool) -> ApplyReport:
    from lighthouse.core.config_file.apply import apply_document
    from lighthouse.core.config_file.document import read_file
    from lighthouse.runtime import open_core

    doc = read_file(path)  # a file refused by its shape is refused before any server starts
    async with open_core(settings) as core:
        return await apply_document(core.service, doc, dry_run=dry_run)


def _ping_url(settings: Settings, token: str) -> str:
    from lighthouse.api.heartbeat import ping_path

    base = settings.public_base_url or f"http://127.0.0.1:{settings.api_port}"
    return base.rstrip("/") + ping_path(token)
