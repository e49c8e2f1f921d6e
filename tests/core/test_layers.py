"""core/ is the domain: it never imports the chat libraries or the HTTP server framework."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("discord", "telegram", "aiohttp.web", "lighthouse.bot", "lighthouse.api")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "aiohttp":
                names.update(f"aiohttp.{alias.name}" for alias in node.names)
    return names


def test_core_imports_no_adapter_library() -> None:
    offenders = {
        str(path.relative_to(CORE)): sorted(
            m for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        )
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 20  # the scan saw the package


def test_adapters_hold_no_sql_and_no_database_driver() -> None:
    """bot/ and api/ call MonitorService; statements and asyncpg live in core/storage/."""
    root = CORE.parent
    offenders: dict[str, list[str]] = {}
    for folder in ("bot", "api"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found = sorted(m for m in imported_modules(path) if m == "asyncpg" or m.startswith("asyncpg."))
            found += [word for word in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM")
                      if word in text]
            if found:
                offenders[str(path.relative_to(root))] = found
    assert offenders == {}


# Where json.loads may stand: the bounded parser itself, the database's own jsonb (written
# by us through the cleaning encoder), pgserver's own pid list, and the condition
# language, which bounds depth and size itself before parsing a body.
JSON_LOADS_ALLOWED = {"core/jsonsafe.py", "core/storage/database.py", "core/embedded.py",
                      "core/checks/conditions/values.py"}


def test_outside_json_goes_through_the_bounded_parser() -> None:
    root = CORE.parent
    offenders = sorted(
        str(path.relative_to(root))
        for folder in ("core", "api", "bot", "lighthouse")
        for path in (root / folder).rglob("*.py")
        if "json.loads(" in path.read_text(encoding="utf-8")
        and str(path.relative_to(root)) not in JSON_LOADS_ALLOWED
    )
    assert offenders == []
