"""JSON from the outside (monitored targets, API bodies, payment headers), parsed without
risking the process.

The C JSON decoder recurses once per level and trusts the recursion limit, which web3's
dependencies raise to 100000 on import: a body of 100000 "[" would overflow the C stack
and kill the process. The depth is therefore measured first, in C-speed passes.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any, Final

__all__ = ["JSON_MAX_DEPTH", "JsonTooDeepError", "json_depth", "safe_json_loads"]

JSON_MAX_DEPTH: Final = 256  # deeper JSON is refused before parsing (see json_depth)

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JsonTooDeepError(ValueError):
    """JSON refused for its nesting: callers can say so instead of "not JSON"."""


def json_depth(raw: bytes | str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (an upper bound if invalid)."""
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= JSON_MAX_DEPTH:
        return 0  # too few brackets to nest that deep
    brackets = _JSON_STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets)), default=0)


def safe_json_loads(raw: bytes | str) -> Any:
    """json.loads for text from monitored targets: refuses nesting deeper than
    JSON_MAX_DEPTH first (web3 raises the recursion limit, and a crafted ~100,000-deep
    body then crashes the process instead of raising). Raises ValueError like json.loads
    (JsonTooDeepError, a ValueError, for the nesting)."""
    if json_depth(raw) > JSON_MAX_DEPTH:
        raise JsonTooDeepError(f"JSON nested deeper than {JSON_MAX_DEPTH} levels")
    return json.loads(raw)
