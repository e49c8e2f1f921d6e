"""The limits every surface enforces: chat, the API, the YAML file and the CLI read them here.

Each check raises the same typed error wherever the input came from, so a refusal has the
same code and the same localized words on every surface.
"""

from __future__ import annotations

from lighthouse.core.errors import InvalidIntervalError, ValidationError
from lighthouse.core.i18n import SUPPORTED as LANGUAGES
from lighthouse.core.i18n import Language
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import MIN_INTERVAL_S, Tier

MAX_NAME = 100
MAX_INTERVAL_S = 86_400
THRESHOLD_MIN, THRESHOLD_MAX = 1, 100
SEVERITIES = ("info", "warning", "critical")

__all__ = ["LANGUAGES", "MAX_INTERVAL_S", "MAX_NAME", "MIN_INTERVAL_S", "SEVERITIES", "Language"]


def monitor_name(name: str | None) -> str | None:
    """A name as given (trimmed), or None for "use the target"; too long is refused, never cut."""
    if name is None:
        return None
    cleaned = clean_text(name).strip()
    if len(cleaned) > MAX_NAME:
        raise ValidationError("name too long", field="name", reason="too_long", max=MAX_NAME)
    return cleaned or None


def language(code: str | None) -> str | None:
    if code is not None and code not in LANGUAGES:
        raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}", field="language",
                              reason="unsupported", supported=", ".join(LANGUAGES))
    return code


def interval(seconds: int | None, plan: Tier) -> int:
    """The interval to check at: the tier's own when not given; never below the tier's."""
    value = plan.interval_s if seconds is None else seconds
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise InvalidIntervalError("interval out of range", interval=value, min=MIN_INTERVAL_S,
                                   max=MAX_INTERVAL_S)
    if value < plan.interval_s:
        raise InvalidIntervalError("interval shorter than the tier allows", interval=value,
                                   min=plan.interval_s, tier=plan.name.value)
    return value


def threshold(label: str, value: int) -> int:
    if not THRESHOLD_MIN <= value <= THRESHOLD_MAX:
        raise ValidationError(f"{label} must be {THRESHOLD_MIN}..{THRESHOLD_MAX}", field=label,
                              reason="range", min=THRESHOLD_MIN, max=THRESHOLD_MAX)
    return value


def severity(value: str) -> str:
    if value not in SEVERITIES:
        raise ValidationError("bad severity", field="min_severity", reason="unsupported",
                              supported=", ".join(SEVERITIES))
    return value
