"""Alert texts in the recipient's language, shared by every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lighthouse.core.i18n import format_duration, gettext


def _(message: str) -> str:
    """Marks a string for extraction; translation happens in render()."""
    return message


TITLES = {
    "downtime": _("Down: {target}"),
    "reminder": _("Still down: {target}"),
    "recovery": _("Recovered: {target}"),
    "high_latency": _("Slow responses: {target}"),
    "certificate_expiry": _("Certificate expires soon: {target}"),
    "low_balance": _("Low balance: {target}"),
}
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


def render(alert_type: str, severity: str, payload: dict[str, Any], language: str) -> RenderedAlert:
    kind = payload.get("kind", alert_type)
    key = "reminder" if kind == "reminder" else alert_type
    target = payload.get("monitor_name") or payload.get("target") or "?"
    title = gettext(language, TITLES.get(key, TITLES["downtime"])).format(target=target)
    lines: list[str] = []
    if payload.get("target") and payload.get("target") != target:
        lines.append(gettext(language, "Target: {target}").format(target=payload["target"]))
    if payload.get("error"):
        lines.append(gettext(language, "Error: {error}").format(error=payload["error"]))
    if payload.get("status_code") is not None:
        lines.append(gettext(language, "HTTP status: {code}").format(code=payload["status_code"]))
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
    for key_name, label in (
        ("days_left", _("Days left: {value}")),
        ("balance", _("Balance: {value}")),
        ("threshold", _("Threshold: {value}")),
    ):
        if payload.get(key_name) is not None:
            lines.append(gettext(language, label).format(value=payload[key_name]))
    lines.append(gettext(language, FOOTER))
    return RenderedAlert(title=title, lines=lines, severity=severity, language=language)
