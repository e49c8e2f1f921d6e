"""Apprise: one channel kind for the services Apprise speaks (email over SMTP, Slack,
Microsoft Teams, PagerDuty, Opsgenie, ntfy, Gotify, Pushover, Matrix, ...), addressed by
an Apprise URL such as ``ntfy://ntfy.example.com/topic`` or ``mailto://user:pass@host``.

The URL usually carries the credential, so it is a secret: masked whenever shown
(``writeOnly``), stored whole for delivery. It is checked at creation by Apprise's own
parser, so a URL Apprise cannot use is refused then, not at the first alert. Delivery is
one ``async_notify`` per alert; anything short of success is RETRY, so the delivery
worker's backoff, attempts and idempotency key (core/alerts/delivery.py) apply as to every
channel. Apprise's own retries stay off (its default) so one attempt is one worker attempt.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, ClassVar

import apprise
from apprise.manager_plugins import NotificationManager
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.channels.config import (
    MAX_URL_LENGTH,
    ChannelConfig,
    read_config,
)
from lighthouse.core.errors import TargetNotAllowedError
from lighthouse.core.netguard import TargetGuard
from pydantic import AfterValidator, Field, SecretStr
from pydantic_core import PydanticCustomError

log = logging.getLogger("lighthouse.alerts")

SEND_TIMEOUT_S = 30.0


# Plugins that deliver on this machine (its syslog socket, desktop notifications, a USB
# light) rather than over the network to a host the target guard can judge: a user of a
# shared instance must not write into the operator's machine. ``file`` is no Apprise
# notification, but people try it.
LOCAL_PLUGINS = frozenset({"syslog", "windows", "macosx", "dbus", "glib", "gnome", "blink1"})
LOCAL_SCHEMES = frozenset({"file"})
_PLUGINS = NotificationManager()  # type: ignore[no-untyped-call]


def local_only(url: str) -> bool:
    """Does this Apprise URL name a plugin that sends nowhere but this machine?"""
    scheme = url.partition("://")[0].partition(":")[0].strip().lower()
    if scheme in LOCAL_SCHEMES:
        return True
    try:
        plugin = _PLUGINS[scheme]
    except KeyError:
        return False  # not Apprise's at all: the parser below refuses it
    module = getattr(plugin, "__module__", "").rpartition(".")[2]
    return module in LOCAL_PLUGINS or getattr(plugin, "category", "native") != "native"


def _apprise_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    if local_only(url):
        raise PydanticCustomError("apprise_local", "Apprise URLs that deliver on this machine "
                                  "are not allowed")
    if url != url.strip() or apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        # No detail: Apprise's message would quote the URL, which may hold a password.
        raise PydanticCustomError("apprise_url", "not a URL Apprise can send to")
    return value


AppriseURL = Annotated[
    SecretStr,
    Field(min_length=1, max_length=MAX_URL_LENGTH, json_schema_extra={"writeOnly": True}),
    AfterValidator(_apprise_url),
]


class AppriseConfig(ChannelConfig):
    url: AppriseURL

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"url": "ntfy://ntfy.example.com/lighthouse-alerts"}


class AppriseChannel:
    kind: ClassVar[str] = "apprise"
    config_model: ClassVar[type[AppriseConfig]] = AppriseConfig

    def __init__(self, guard: TargetGuard | None = None,
                 timeout_s: float = SEND_TIMEOUT_S) -> None:
        # Apprise connects with its own clients, not our guarded session, so the hosts an
        # Apprise URL names are checked here first (a user must not reach private
        # addresses through it). None: no check (tests on 127.0.0.1).
        self._guard = guard
        self._timeout_s = timeout_s

    async def _refused(self, sender: apprise.Apprise) -> str | None:
        if self._guard is None:
            return None
        for plugin in sender:
            for host in {getattr(plugin, "host", None), getattr(plugin, "smtp_host", None)}:
                if not isinstance(host, str) or not host:
                    continue
                try:
                    await self._guard.resolve(host)
                except TargetNotAllowedError as exc:
                    return str(exc)
                except OSError:
                    # Not a host name (cloud plugins keep ids there) or unresolvable: the
                    # plugin's own endpoint, or its own failure below.
                    continue
        return None

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        config = read_config(AppriseConfig, delivery)
        if isinstance(config, DeliveryResult):
            return config
        sender = apprise.Apprise()
        # read_config ran the model's check, so a local-only URL stored before that rule
        # already ended as PERMANENT above; this is the guard against a plugin renamed.
        if local_only(config.url.get_secret_value()) or not sender.add(config.url.get_secret_value()):
            # It parsed at creation; a newer or older Apprise may disagree. Not transient.
            return DeliveryResult(Outcome.PERMANENT, "apprise_url: not a URL Apprise can send to",
                                  disable_channel=True)
        if (refused := await self._refused(sender)) is not None:
            return DeliveryResult(Outcome.PERMANENT, f"target_not_allowed: {refused}"[:300],
                                  disable_channel=True)
        r = delivery.rendered
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await sender.async_notify(title=r.title, body="\n".join(r.lines))
        except TimeoutError:
            return DeliveryResult(Outcome.RETRY, "apprise: timed out")
        except Exception as exc:  # a plugin bug must not lose the alert: the worker retries
            return DeliveryResult(Outcome.RETRY, f"apprise: {type(exc).__name__}")
        if bool(result):
            return DeliveryResult.ok()
        # Apprise reports failure as a value, with the reason only in its log (which may
        # quote the URL): retry with the status only.
        status = getattr(getattr(result, "status", None), "name", "FAILURE")
        return DeliveryResult(Outcome.RETRY, f"apprise: {str(status).lower()}")
