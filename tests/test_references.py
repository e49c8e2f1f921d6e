"""Comments and docs cite only files that are in the repository.

A comment that sends a reader to a file that has since moved is worse than none: this
finds every repository path written in code, docs and configs and checks it exists.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("core", "api", "bot", "lighthouse", "tests", "bench", "tools", "docs", "sql",
           "terraform", "contracts")
TOP_FILES = ("README.md", "CONTRIBUTING.md", "pyproject.toml", "docker-compose.yml", "Dockerfile",
             "tasks.py")
# A path into one of the project's folders, ending in a file name with an extension.
CITED = re.compile(
    r"(?<![\w./:-])((?:core|api|bot|lighthouse|tests|bench|tools|docs|sql|locales|terraform|"
    r"examples|contracts|\.ci)/[\w./-]*?\.(?:py|sql|md|yml|yaml|tf|po|pot|sol|json|sh|cfg|toml))"
    r"(?![\w/-])"
)
SUFFIXES = {".py", ".md", ".sql", ".toml", ".yml", ".yaml", ".tf", ".cfg", ".sh"}


def _sources() -> list[Path]:
    files = [ROOT / name for name in TOP_FILES if (ROOT / name).is_file()]
    for folder in SCANNED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in SUFFIXES and ".terraform" not in path.parts:
                files.append(path)
    return files


def _exists(cited: str) -> bool:
    if (ROOT / cited).exists():
        return True
    # <type>.py style placeholders and globs are descriptions, not citations.
    return "<" in cited or "*" in cited


def test_every_cited_file_exists() -> None:
    missing: list[str] = []
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in CITED.finditer(text):
            cited = match.group(1).rstrip(".")
            if not _exists(cited):
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{path.relative_to(ROOT)}:{line}: {cited}")
    assert missing == [], "cited files that do not exist:\n" + "\n".join(missing[:50])
