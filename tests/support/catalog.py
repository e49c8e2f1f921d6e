"""The Spanish catalog as a dict, for tests that compare rendered texts with it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

_PO = Path(__file__).resolve().parents[2] / "locales" / "es" / "LC_MESSAGES" / "messages.po"

with _PO.open("rb") as _fp:
    SPANISH: dict[str, str] = {m.id: m.string for m in read_po(_fp, locale="es")
                               if isinstance(m.id, str) and m.id and isinstance(m.string, str)}
