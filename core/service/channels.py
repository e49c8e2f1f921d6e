"""Alert channels: where an owner's alerts go (a webhook, a Discord DM, a Telegram chat)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lighthouse.core import limits
from lighthouse.core.alerts.channels import (
    AlertChannel,
    channel_config_model,
    channel_kinds,
    parse_channel_config,
)
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.render import render
from lighthouse.core.errors import ChannelNotFoundError, LighthouseError, ValidationError
from lighthouse.core.models import Identity, Monitor, User
from lighthouse.core.secretbox import SecretBox, SecretUnreadable, open_secrets
from lighthouse.core.storage import channels as channel_rows
from lighthouse.core.storage.database import Pool

log = logging.getLogger("lighthouse.alerts")

# Enough of a secret to tell two apart, never enough to use one.
_SHOWN_TAIL = 4
_SHORT_SECRET = 16


def _masked(value: str) -> str:
    tail = value[-_SHOWN_TAIL:] if len(value) >= _SHORT_SECRET else ""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}/…{tail}"
    return f"…{tail}"


def shown_config(kind: str, config: Any) -> dict[str, Any]:
    """A stored config as it may be shown back: every secret field (a signing secret, a
    URL that carries a token) reduced to a hint; a kind this version does not know is
    shown empty rather than risk showing one of its secrets."""
    try:
        secrets = channel_config_model(kind).secret_fields()
    except LighthouseError:
        return {}
    if not isinstance(config, dict):
        return {}
    return {k: _masked(str(v)) if k in secrets and v is not None else v for k, v in config.items()}


class ChannelsMixin:
    _pool: Pool
    _now: Callable[[], datetime]
    secrets: SecretBox | None

    # --- secrets at rest (core/secretbox.py) ------------------------------------------
    def _sealed(self, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        """The config as stored: its kind's secret fields encrypted."""
        if self.secrets is None:
            return config
        return self.secrets.seal_fields(config, channel_config_model(kind).secret_fields())

    def _opened(self, kind: str, config: Any) -> Any:
        """A stored config with its secrets readable again, for the comparisons and sends
        of this process; never returned to a caller unmasked (``shown_config``)."""
        if not isinstance(config, dict):
            return config
        try:
            fields = channel_config_model(kind).secret_fields()
        except LighthouseError:
            return config
        return open_secrets(self.secrets, config, fields)

    def _same(self, kind: str, stored: Any, config: dict[str, Any]) -> bool:
        """Is a stored config this one? (Ciphertexts differ every time: compare opened.)"""
        try:
            return bool(self._opened(kind, stored) == config)
        except SecretUnreadable:
            return False  # under a key this process lacks: not provably the same

    def _readable(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "config": self._opened(row["kind"], row["config"])}

    def _channel_shown(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row for showing: secrets masked from their plaintext (a hint of the host and the
        last characters, as typed), so an encrypted one looks the same as before."""
        try:
            config = self._opened(row["kind"], row["config"])
        except SecretUnreadable:
            config = {k: v for k, v in row["config"].items() if not SecretBox.is_sealed(v)}
        return {**row, "config": shown_config(row["kind"], config)}

    async def reseal_channel_secrets(self) -> int:
        """Encrypt what is still plain (rows from before encryption) or under an older key;
        run at start. Returns how many rows changed."""
        if self.secrets is None:
            return 0
        changed = 0
        # Only kinds with secrets: chat channels (most rows) have none to encrypt.
        secret_fields = {k: f for k in channel_kinds()
                         if (f := channel_config_model(k).secret_fields())}
        for row in await channel_rows.configs_of_kinds(self._pool, list(secret_fields)):
            fields = secret_fields[row["kind"]]
            if not isinstance(row["config"], dict):
                continue
            try:
                new = self.secrets.reseal_fields(row["config"], fields)
            except SecretUnreadable:
                log.error("alert channel #%d holds a secret no configured key opens",
                          row["id"], extra={"channel_id": row["id"]})
                continue
            if new != row["config"]:
                changed += await channel_rows.replace_config(self._pool, row["id"], row["config"],
                                                             new)
        if changed:
            log.info("alert channel secrets encrypted with the current key: %d", changed)
        return changed

    if TYPE_CHECKING:  # provided by the sibling mixins in MonitorService
        async def find_user(self, who: Identity) -> User | None: ...  # UsersMixin
        async def ensure_user(self, who: Identity, language: str | None = None) -> User: ...
        async def get_monitor(self, who: Identity, ref: str) -> Monitor: ...  # MonitorsMixin

    async def add_channel(
        self,
        who: Identity,
        kind: str,
        config: dict[str, Any],
        *,
        language: str | None = None,
        monitor_ref: str | None = None,
        min_severity: str = "info",
        managed_by: str | None = None,
    ) -> int:
        """An alert destination for the owner's alerts (or one monitor's). The config is
        validated by its kind's model now, so a webhook without a URL is refused here, not
        at the first alert; chat-only kinds come through ``upsert_chat_channel``.

        With ``monitor_ref`` the channel belongs to that monitor's owner, so a management
        token (which reaches one monitor and is no user) can add one to its monitor.
        ``managed_by``: the monitors-as-code file declares it (it may remove it later)."""
        stored = self.validate_channel(kind, config, language=language, min_severity=min_severity)
        if monitor_ref:
            m = await self.get_monitor(who, monitor_ref)
            owner_id, monitor_id, default_language = m.owner_id, m.id, m.language
        else:
            user = await self.ensure_user(who)
            owner_id, monitor_id, default_language = user.id, None, user.language or "en"
        return await channel_rows.add(
            self._pool, owner_id=owner_id, kind=kind, config=self._sealed(kind, stored),
            same=lambda have: self._same(kind, have, stored), monitor_id=monitor_id,
            language=language, default_language=default_language, min_severity=min_severity,
            managed_by=managed_by,
        )

    async def monitor_channels(self, who: Identity, ref: str) -> list[dict[str, Any]]:
        """The channels scoped to one monitor, secrets masked (``shown_config``)."""
        m = await self.get_monitor(who, ref)
        return [self._channel_shown(row) for row in await channel_rows.of_monitor(self._pool, m.id)]

    async def remove_monitor_channel(self, who: Identity, ref: str, channel_id: int) -> None:
        """Delete one of the monitor's own channels (not the owner's other channels)."""
        m = await self.get_monitor(who, ref)
        if not await channel_rows.delete_of_monitor(self._pool, m.id, channel_id):
            raise ChannelNotFoundError("no such alert channel on this monitor", channel=channel_id)

    @staticmethod
    def validate_channel(kind: str, config: dict[str, Any], *, language: str | None = None,
                         min_severity: str = "info") -> dict[str, Any]:
        """Every rule ``add_channel`` applies to its input, without writing; returns the
        config as it would be stored."""
        stored = parse_channel_config(kind, config).stored()
        limits.severity(min_severity)
        limits.language(language)
        return stored

    async def remove_managed_channel(self, who: Identity, channel_id: int) -> bool:
        """Remove one of the owner's channels that a monitors-as-code file declared (one the
        operator added by hand stays); False when there is none such."""
        user = await self.find_user(who)
        if user is None:
            return False
        return await channel_rows.delete(self._pool, user.id, channel_id, managed_only=True)

    async def channels(self, who: Identity) -> list[dict[str, Any]]:
        """The owner's channels with their configs as given (secrets readable: for comparing
        with a file's, never for showing)."""
        user = await self.find_user(who)
        if user is None:
            return []
        return [self._readable(r) for r in await channel_rows.of_owner(self._pool, user.id)]

    async def channel_list(self, who: Identity) -> list[dict[str, Any]]:
        """The owner's channels for showing: secrets masked by each kind's model."""
        user = await self.find_user(who)
        if user is None:
            return []
        return [self._channel_shown(r) for r in await channel_rows.of_owner(self._pool, user.id)]

    async def _channel(self, who: Identity, channel_id: int) -> dict[str, Any]:
        user = await self.find_user(who)
        row = await channel_rows.one(self._pool, user.id, channel_id) if user else None
        if row is None:
            raise ChannelNotFoundError("no such alert channel", channel_id=channel_id)
        return row

    async def remove_channel(self, who: Identity, channel_id: int) -> dict[str, Any]:
        """Delete one of the owner's channels (its pending deliveries go with it)."""
        row = await self._channel(who, channel_id)
        user = await self.find_user(who)
        assert user is not None
        if not await channel_rows.remove(self._pool, user.id, channel_id):
            raise ChannelNotFoundError("no such alert channel", channel_id=channel_id)
        log.info("alert channel %s #%d removed", row["kind"], channel_id,
                 extra={"channel_id": channel_id, "channel": row["kind"], "by": who.provider.value})
        return self._channel_shown(row)

    async def test_channel(
        self, who: Identity, channel_id: int, senders: Mapping[str, AlertChannel]
    ) -> DeliveryResult:
        """Send a test alert through one of the owner's channels now, with the senders this
        process has (a webhook needs only HTTP; a chat kind needs its bot). Nothing is
        stored, and a failure does not disable the channel."""
        row = await self._channel(who, channel_id)
        sender = senders.get(row["kind"])
        if sender is None:
            raise ValidationError("this process cannot send through that kind of channel",
                                  field="channel", reason="not_testable_here", kind=row["kind"],
                                  testable=sorted(senders))
        language = row["language"] or "en"
        try:
            config = self._opened(row["kind"], row["config"])
        except SecretUnreadable as exc:
            return DeliveryResult(Outcome.RETRY, f"secret_unreadable: {exc}")
        payload = {"kind": "test", "target": f"{row['kind']} #{channel_id}", "language": language,
                   "checked_at": self._now().isoformat()}
        delivery = Delivery(
            outbox_id=0, alert_id=0, idempotency_key=f"test:{channel_id}:{secrets.token_hex(6)}",
            alert_type="test", severity="info", payload=payload,
            rendered=render("test", "info", payload, language), channel_id=channel_id,
            channel_kind=row["kind"], channel_config=config, attempt=1,
        )
        try:
            result = await sender.deliver(delivery)
        except Exception as exc:  # a channel must not raise; if one does, say so
            result = DeliveryResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}"[:300])
        log.info("test alert %s through %s #%d", result.outcome.value, row["kind"], channel_id,
                 extra={"channel_id": channel_id, "channel": row["kind"],
                        "outcome": result.outcome.value, "error": result.error})
        return result

    # --- chat alert channels (Discord DM, Telegram chat; used by bot/) ----------
    async def upsert_chat_channel(
        self,
        who: Identity,
        kind: str,
        *,
        key: dict[str, Any],
        config: dict[str, Any],
        monitor_id: int | None,
        language: str,
    ) -> int:
        """The one channel of ``kind`` whose config contains ``key`` for this owner and
        monitor: created, or re-enabled with ``config`` merged in and the new language.
        The chat adapter vouches for the ids (trusted)."""
        parse_channel_config(kind, {**config, **key}, trusted=True)
        user = await self.ensure_user(who)
        return await channel_rows.upsert_keyed(self._pool, owner_id=user.id, kind=kind, key=key,
                                               config=self._sealed(kind, config),
                                               monitor_id=monitor_id, language=language)

    async def chat_channels(
        self, kind: str, key: dict[str, Any], *, owner: Identity | None = None
    ) -> list[dict[str, Any]]:
        """Channels of ``kind`` whose config contains ``key`` (optionally one owner's),
        with the scoped monitor's name."""
        owner_id = None
        if owner is not None:
            user = await self.find_user(owner)
            if user is None:
                return []
            owner_id = user.id
        return await channel_rows.keyed(self._pool, kind, key, owner_id)

    async def update_chat_channels(
        self, ids: list[int], *, enabled: bool | None = None, drop_keys: tuple[str, ...] = ()
    ) -> int:
        """Re-enable/disable channels and remove transient flags from their config."""
        return await channel_rows.update(self._pool, ids, enabled=enabled, drop_keys=list(drop_keys))

    async def move_chat_channels(self, kind: str, field: str, old: Any, new: Any) -> int:
        """A chat changed id (Telegram group -> supergroup): follow it in every channel."""
        return await channel_rows.move(self._pool, kind, field, old, new)
