"""The Spanish catalog is complete and up to date with the code.

Fails when a message lacks a Spanish translation, a translation is fuzzy or drops/adds a
placeholder, or the catalog was not refreshed after a string changed. Refresh with:

    .venv/bin/pybabel extract -F babel.cfg -k _ -k gettext:2 -k ngettext:2,3 -k locale_str \
        -k _T --no-location --sort-output -o locales/messages.pot . && \
    .venv/bin/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching
"""

from __future__ import annotations

import io
import string
import subprocess
import sys
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locales" / "es" / "LC_MESSAGES" / "messages.po"
POT = ROOT / "locales" / "messages.pot"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_": None,
    "gettext": (2,),
    "ngettext": (2, 3),
    "locale_str": None,
    "_T": None,
}
SOURCES = ("bot", "core", "api", "lighthouse")


def _placeholders(text: str) -> set[str]:
    found: set[str] = set()
    try:
        for _literal, field, _spec, _conv in string.Formatter().parse(text):
            if field is not None:
                found.add(field)
    except ValueError:  # not a brace template (e.g. %(num)d): compare %-placeholders
        pass
    for part in text.split("%(")[1:]:
        found.add("%(" + part.split(")")[0] + ")")
    return found


def _catalog() -> object:
    with PO.open("rb") as fp:
        return read_po(fp, locale="es")


def _extracted() -> set[str]:
    ids: set[str] = set()
    for folder in SOURCES:
        for _name, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT / folder), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_in_the_code_has_a_spanish_translation() -> None:
    catalog = read_po(PO.open("rb"), locale="es")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(i for i in _extracted() if i not in translated)
    assert missing == [], "run extract + update, then translate: " + repr(missing[:10])
    bad = []
    for key, m in translated.items():
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(f.strip() for f in forms):
            bad.append(key)
    assert bad == [], f"fuzzy or empty translations: {bad[:10]}"


def test_placeholders_match() -> None:
    catalog = read_po(PO.open("rb"), locale="es")
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            singular, plural = m.id
            forms = list(m.string)
            allowed = _placeholders(singular) | _placeholders(plural)
            if _placeholders(forms[-1]) != _placeholders(plural):
                wrong.append(singular)
            if any(not _placeholders(f) <= allowed for f in forms):
                wrong.append(singular)
        elif _placeholders(m.id) != _placeholders(m.string):
            wrong.append(m.id)
    assert wrong == []
    assert list(catalog.check()) == []


def test_catalog_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", "-k", "_", "-k", "gettext:2", "-k",
         "ngettext:2,3", "-k", "locale_str", "-k", "_T", "--no-location", "--sort-output",
         "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )
    new_ids = {m.id if isinstance(m.id, str) else m.id[0]
               for m in read_po(fresh.open("rb")) if m.id}
    committed = {m.id if isinstance(m.id, str) else m.id[0]
                 for m in read_po(POT.open("rb")) if m.id}
    assert new_ids == committed, "locales/messages.pot is stale: run the extract command"
    check = subprocess.run(
        [pybabel, "update", "--check", "-i", str(fresh), "-d", "locales", "--no-fuzzy-matching",
         "--ignore-pot-creation-date"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_compiled_in_memory_round_trip() -> None:
    catalog = read_po(PO.open("rb"), locale="es")
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    t = Translations(fp=buf, domain="messages")
    assert t.gettext("Start monitoring a URL") == "Empezar a monitorear una URL"
    assert t.ngettext("every minute", "every {n} minutes", 5) == "cada {n} minutos"
    assert t.ngettext("every minute", "every {n} minutes", 1) == "cada minuto"
