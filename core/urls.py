"""URL checks shared by every place that takes a URL from outside (check types, alert
channels): one set of reasons (``scheme``, ``no_host``, ``port``, ``too_long``,
``malformed``) that chat and the API already explain."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lighthouse.core.errors import InvalidURLError

MAX_URL = 2048
# Control characters; a regex, not a loop over characters: every stored config's URL is
# checked again by the scheduler's first check of its monitor.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_problem(value: str, schemes: tuple[str, ...]) -> str | None:
    """Why ``value`` is not a usable URL with one of ``schemes``, or None."""
    if len(value) > MAX_URL:
        return "too_long"
    if _CONTROL.search(value):
        return "malformed"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "malformed"
    if parts.scheme not in schemes:
        return "scheme"
    if not parts.hostname:
        return "no_host"
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError:
        return "port"
    return None


_TEXT = {
    "too_long": f"URL longer than {MAX_URL} characters",
    "malformed": "URL is malformed",
    "no_host": "URL has no host",
    "port": "URL has an invalid port",
}


def validate_url(value: str, schemes: tuple[str, ...], *, field: str = "url") -> str:
    """``value`` stripped, or InvalidURLError naming ``field`` and the reason."""
    value = value.strip()
    reason = url_problem(value, schemes)
    if reason is None:
        return value
    if reason == "scheme":
        starts = " or ".join(f"{s}://" for s in schemes)
        raise InvalidURLError(f"URL must start with {starts}", field=field, reason=reason, url=value)
    shown = {} if reason == "too_long" else {"url": value}
    raise InvalidURLError(_TEXT[reason], field=field, reason=reason, **shown)
