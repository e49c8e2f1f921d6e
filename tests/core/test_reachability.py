"""Everything the service can do is reachable by someone (issue 12).

Heartbeats, maintenance windows and per-monitor channels were built in the core and
called only from tests, so no user could reach them. This walks every public method of
MonitorService and looks for a call site ``service.<name>(`` (``self.service.<name>(``,
``core.service.<name>(``, ...) in the adapters, the CLI and the file applier. A
method without one fails the test, unless it is in EXEMPT with the reason it may wait.
A public method that is only a step of other methods should be private instead.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from lighthouse.core.service import MonitorService

ROOT = Path(__file__).resolve().parents[2]
# The surfaces: chat, the API and MCP, the CLI, and the monitors-as-code file's applier.
CALLERS = ("bot", "api", "lighthouse", "core/config_file")
SERVICE_NAMES = {"service", "svc"}

# name -> why it has no caller yet. Keep it short: an entry is a feature nobody can use.
EXEMPT: dict[str, str] = {
    # The API buys tier periods with the monitor (create_monitor(purchase=...)); granting a
    # tier without a purchase is the operator's admin CLI, `lighthouse user` (issue 12,
    # being written in parallel).
    "upgrade_tier": "admin CLI lighthouse user, issue 12",
}


def public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(MonitorService, inspect.isfunction)
            if not name.startswith("_")}


def called_on_a_service() -> dict[str, list[str]]:
    """Method name -> where ``<...>service.<name>(...)`` is called, from the syntax tree (so a
    name in a comment or a string is no caller)."""
    found: dict[str, list[str]] = {}
    for folder in CALLERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                owner = node.func.value
                if (isinstance(owner, ast.Name) and owner.id in SERVICE_NAMES) or (
                        isinstance(owner, ast.Attribute) and owner.attr in SERVICE_NAMES):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(node.func.attr, []).append(where)
    return found


def test_every_public_method_of_the_service_has_a_caller() -> None:
    methods = public_methods()
    assert len(methods) > 20  # the walk saw the service
    calls = called_on_a_service()
    unreachable = sorted(methods - calls.keys() - EXEMPT.keys())
    assert unreachable == [], (
        f"MonitorService methods no route, command or CLI calls: {unreachable}. Wire them "
        "(api/, bot/, lighthouse/), make them private, or add them to EXEMPT with the reason.")


def test_the_exemptions_are_still_needed() -> None:
    calls = called_on_a_service()
    stale = sorted(name for name in EXEMPT if name in calls or name not in public_methods())
    assert stale == [], f"remove from EXEMPT (now called, or gone): {stale}"


def test_the_scan_finds_real_call_sites() -> None:
    calls = called_on_a_service()
    assert any(where.startswith("api/v1.py") for where in calls["set_maintenance"])
    assert any(where.startswith("bot/") for where in calls["list_monitors"])
    assert "not_a_method" not in calls
