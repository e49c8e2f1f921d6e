"""Text from the outside, made storable in PostgreSQL.

PostgreSQL's text and jsonb refuse NUL (U+0000), and a lone UTF-16 surrogate (what a JSON
``"\\ud800"`` escape or ``surrogateescape`` decoding yields) cannot be encoded as UTF-8 at
all. One such character fails the whole statement it travels in, and a result batch is
one statement: a single hostile target could stop every monitor's writes. Both become
U+FFFD, which keeps visible that something was there.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced; the same object when already clean."""
    if _BAD.search(value) is None:
        return value
    return _BAD.sub(REPLACEMENT, value)


def clean_json(value: Any) -> Any:
    """A JSON-able value whose every string (keys included) went through clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


# What phone keyboards type for " and ' (smart punctuation): “ ” „ ‟ ″ and ‘ ’ ‚ ‛ ′.
_CURLY = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
                        "‘": '"', "’": '"', "‚": '"', "‛": '"', "′": '"'})


def straight_quotes(text: str) -> str:
    """JSON typed on a phone, with its curly quotes made straight double quotes (a JSON
    string has no other quote); callers try the text as typed first, so a curly quote
    inside a valid string is kept."""
    return text.translate(_CURLY)
