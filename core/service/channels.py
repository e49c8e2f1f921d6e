"""Alert channels: where an owner's alerts go (a webhook, a Discord DM, a Telegram chat)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lighthouse.core import limits
from lighthouse.core.alerts.channels import channel_config_model, parse_channel_config
from lighthouse.core.errors import ChannelNotFoundError, LighthouseError
from lighthouse.core.models import Identity, Monitor, User
from lighthouse.core.storage import channels as channel_rows
from lighthouse.core.storage.database import Pool

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
            self._pool, owner_id=owner_id, kind=kind, config=stored, monitor_id=monitor_id,
            language=language, default_language=default_language, min_severity=min_severity,
            managed_by=managed_by,
        )

    async def monitor_channels(self, who: Identity, ref: str) -> list[dict[str, Any]]:
        """The channels scoped to one monitor, secrets masked (``shown_config``)."""
        m = await self.get_monitor(who, ref)
        return [{**row, "config": shown_config(row["kind"], row["config"])}
                for row in await channel_rows.of_monitor(self._pool, m.id)]

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

    async def remove_channel(self, who: Identity, channel_id: int, *, managed_only: bool = False
                             ) -> bool:
        """Remove one of the owner's channels (``managed_only``: only if a file declared it)."""
        user = await self.find_user(who)
        if user is None:
            return False
        return await channel_rows.delete(self._pool, user.id, channel_id, managed_only=managed_only)

    async def channels(self, who: Identity) -> list[dict[str, Any]]:
        user = await self.find_user(who)
        return [] if user is None else await channel_rows.of_owner(self._pool, user.id)

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
                                               config=config, monitor_id=monitor_id, language=language)

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
