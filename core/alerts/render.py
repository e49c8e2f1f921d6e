"""Alert texts in the recipient's language, shared by every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lighthouse.core.checks import CheckType, check_types
from lighthouse.core.checks.failures import describe_failure
from lighthouse.core.i18n import format_duration, gettext


def _(message: str) -> str:
    """Marks a string for extraction; translation happens in render()."""
    return message


# State changes; the titles of a type's own signals come from the type (signal_titles).
TITLES = {
    "downtime": _("Down: {target}"),
    "reminder": _("Still down: {target}"),
    "recovery": _("Recovered: {target}"),
    "maintenance_end": _("Maintenance over: {target}"),
    # Sent on request (`lighthouse channel test`) to prove a channel works.
    "test": _("Test alert: {target}"),
}
MAINTENANCE_ENDED = _("The maintenance window has ended; alerts are on again")
TEST_LINE = _("If you can read this, Lighthouse alerts reach this channel.")
FOOTER = _("Lighthouse monitoring")


@dataclass(frozen=True)
class RenderedAlert:
    title: str
    lines: list[str]
    severity: str
    language: str

    @property
    def text(self) -> str:
        return "\n".join([self.title, *self.lines])


def _check_of(payload: dict[str, Any], alert_type: str) -> CheckType[Any] | None:
    """The type that raised the alert; for a payload without one (written by an older
    version), the type whose signals include this alert type."""
    types = check_types()
    named = types.get(str(payload.get("monitor_type")))
    if named is not None:
        return named
    return next((t for t in types.values() if alert_type in t.signal_titles), None)


def render(alert_type: str, severity: str, payload: dict[str, Any], language: str) -> RenderedAlert:
    kind = payload.get("kind", alert_type)
    key = "reminder" if kind == "reminder" else alert_type
    check = _check_of(payload, alert_type)
    titles = {**(check.signal_titles if check else {}), **TITLES}
    target = payload.get("monitor_name") or payload.get("target") or "?"
    title = gettext(language, titles.get(key, TITLES["downtime"])).format(target=target)
    lines: list[str] = []
    if kind == "test":
        lines.append(gettext(language, TEST_LINE))
    if payload.get("target") and payload.get("target") != target:
        lines.append(gettext(language, "Target: {target}").format(target=payload["target"]))
    if payload.get("error"):
        error = describe_failure(language, payload.get("error_code"), str(payload["error"]),
                                 payload.get("status_code"))
        lines.append(gettext(language, "Error: {error}").format(error=error))
    for cond in payload.get("conditions") or []:
        if isinstance(cond, dict) and not cond.get("ok", True):
            lines.append(gettext(language, "Failed: {condition}").format(
                condition=cond.get("condition", "?")
            ) + (f" ({cond['reason']})" if cond.get("reason") else ""))
    started = payload.get("incident_started_at")
    checked = payload.get("checked_at")
    if started and checked and kind in ("recovery", "reminder"):
        delta = datetime.fromisoformat(checked) - datetime.fromisoformat(started)
        label = _("Outage lasted {duration}") if kind == "recovery" else _("Down for {duration}")
        lines.append(gettext(language, label).format(duration=format_duration(language, delta)))
    if kind == "maintenance_end" or payload.get("after_maintenance"):
        lines.append(gettext(language, MAINTENANCE_ENDED))
    for fact in check.facts(payload) if check else []:
        lines.append(gettext(language, fact.label).format(value=fact.value))
    lines.append(gettext(language, FOOTER))
    return RenderedAlert(title=title, lines=lines, severity=severity, language=language)
