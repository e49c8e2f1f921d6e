"""The delivery worker: claims outbox rows (SKIP LOCKED, with a lease) and sends them.

At-least-once: a row is marked delivered only after the channel confirmed it, so a
process killed between claim and send leaves the row to be re-claimed when its lease
ends. Receivers that can deduplicate get the idempotency key.

Every attempt's outcome is logged as one line naming the monitor and its id (a deferred
send, which was never tried, only at debug level).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lighthouse.core.alerts.channels import channel_config_model
from lighthouse.core.alerts.channels.base import AlertChannel, Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.render import render
from lighthouse.core.errors import LighthouseError, UnknownChannelKindError
from lighthouse.core.faultlog import RepeatedFailure
from lighthouse.core.metrics import Metrics
from lighthouse.core.secretbox import SecretBox, SecretUnreadable, open_secrets
from lighthouse.core.storage.database import Pool
from lighthouse.core.text import clean_text

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LEASE_S = 60

# Claimable: due, not leased, and, for chat kinds, the oldest pending row of its chat.
# A chat's alerts thus go out one at a time in the order they were raised: one waiting out
# a 429 or a 5xx backoff holds back the later ones of that chat (not of other chats),
# where sending them would put "recovered" before "down". Other kinds (webhooks) keep
# sending concurrently. $5/$6: the chat kinds and the config field naming the chat.
_CLAIM = """
WITH chat_field(kind, field) AS (SELECT * FROM unnest($5::text[], $6::text[])),
pending AS (
    SELECT o.id, o.channel_kind, c.config ->> f.field AS chat
    FROM alert_outbox o
    JOIN alert_channels c ON c.id = o.channel_id
    LEFT JOIN chat_field f ON f.kind = o.channel_kind
    WHERE o.status = 'pending' AND o.channel_kind = ANY($1::text[])
),
heads AS (
    SELECT id, chat, min(id) OVER (PARTITION BY channel_kind, chat) AS first_of_chat
    FROM pending
),
due AS (
    SELECT o.id FROM alert_outbox o JOIN heads h ON h.id = o.id
    WHERE o.status = 'pending' AND o.next_attempt_at <= now()
      AND (o.claimed_until IS NULL OR o.claimed_until < now())
      AND (h.chat IS NULL OR h.id = h.first_of_chat)
    ORDER BY o.next_attempt_at
    LIMIT $2
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE alert_outbox o SET claimed_by = $3, claimed_until = now() + make_interval(secs => $4),
    attempts = o.attempts + 1
FROM due WHERE o.id = due.id
RETURNING o.id, o.alert_id, o.channel_id, o.channel_kind, o.attempts
"""


def chat_fields(kinds: list[str]) -> tuple[list[str], list[str]]:
    """(kinds, fields) of the chat kinds among ``kinds``: what _CLAIM orders by."""
    pairs = []
    for kind in kinds:
        try:
            field = channel_config_model(kind).chat_field
        except UnknownChannelKindError:  # a channel registered outside the registry
            continue
        if field is not None:
            pairs.append((kind, field))
    return [k for k, _ in pairs], [f for _, f in pairs]


def backoff_s(attempt: int) -> float:
    """Exponential with jitter: 5 s, 10 s, 20 s ... capped at 30 min."""
    base: float = min(5 * 2 ** max(attempt - 1, 0), 1800)
    return base * random.uniform(0.8, 1.2)


def _secret_fields(kind: str) -> frozenset[str]:
    try:
        return channel_config_model(kind).secret_fields()
    except LighthouseError:
        return frozenset()


class DeliveryWorker:
    def __init__(
        self,
        pool: Pool,
        channels: dict[str, AlertChannel],
        metrics: Metrics,
        *,
        worker_id: str,
        poll_s: float = 0.5,
        batch: int = 100,
        concurrency: int = 50,
        secrets: SecretBox | None = None,
    ) -> None:
        self._pool = pool
        # Opens the channel secrets stored encrypted (core/secretbox.py), here only, just
        # before a send; None: configs are read as stored.
        self._secrets = secrets
        self._channels = channels
        self._metrics = metrics
        self.worker_id = worker_id
        self._poll_s = poll_s
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._round_failures = RepeatedFailure(log, "claiming alerts to deliver")

    @property
    def channels(self) -> Mapping[str, AlertChannel]:
        """The registered channels, read-only and live (a bot registers its own once it has
        logged in): what a test alert from chat is sent with."""
        return MappingProxyType(self._channels)

    def register(self, channel: AlertChannel) -> None:
        self._channels[channel.kind] = channel

    async def unregister(self, kind: str) -> None:
        """A stopping adapter hands its channel's claimed rows back for another process."""
        self._channels.pop(kind, None)
        await self._pool.execute(
            "UPDATE alert_outbox SET claimed_by = NULL, claimed_until = NULL "
            "WHERE claimed_by = $1 AND status = 'pending' AND channel_kind = $2",
            self.worker_id, kind,
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="delivery-worker")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._sends:
            _done, pending = await asyncio.wait(self._sends, timeout=grace_s)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._release()

    async def _release(self) -> int:
        released = await self._pool.fetchval(
            "WITH r AS (UPDATE alert_outbox SET claimed_by = NULL, claimed_until = NULL "
            "WHERE claimed_by = $1 AND status = 'pending' RETURNING 1) SELECT count(*) FROM r",
            self.worker_id,
        )
        return int(released or 0)

    async def _take_back_from_predecessor(self) -> None:
        """Rows still claimed under our own worker id at start belong to a predecessor that
        died with them (a stable LIGHTHOUSE_INSTANCE_ID, restarted after a crash; ids are
        unique among live processes): send them now instead of after their lease."""
        try:
            released = await self._release()
        except Exception:
            log.warning("could not take back the outbox rows of a previous run", exc_info=True)
            return
        if released:
            log.info("took back %d alert deliveries claimed by a previous run of %s",
                     released, self.worker_id, extra={"released": released})

    async def _loop(self) -> None:
        await self._take_back_from_predecessor()
        while not self._stop.is_set():
            try:
                n = await self.run_once()
                backlog = await self._pool.fetchval(
                    "SELECT count(*) FROM alert_outbox WHERE status = 'pending'"
                )
                self._metrics.outbox_backlog.set(backlog or 0)
            except Exception:
                self._round_failures.failed()  # one line per outage, not per round
                n = 0
            else:
                self._round_failures.succeeded()
            if n == 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim one batch and start sending it; returns how many were claimed."""
        kinds = list(self._channels)
        if not kinds:
            return 0
        chat_kinds, fields = chat_fields(kinds)
        rows = await self._pool.fetch(_CLAIM, kinds, self._batch, self.worker_id, float(LEASE_S),
                                      chat_kinds, fields)
        for row in rows:
            await self._slots.acquire()
            task = asyncio.create_task(self._send(dict(row)))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        return len(rows)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Run rounds until nothing is claimable and all sends finished (tests, CLI)."""
        async with asyncio.timeout(timeout_s):
            while await self.run_once() or self._sends:
                if self._sends:
                    await asyncio.wait(set(self._sends))

    async def _send(self, row: dict[str, Any]) -> None:
        try:
            delivery = await self._load(row)
            if delivery is None:
                return
            channel = self._channels[row["channel_kind"]]
            try:
                result = await channel.deliver(delivery)
            except Exception as exc:  # a channel bug must not lose the alert
                log.exception("channel raised", extra={"channel": row["channel_kind"]})
                result = DeliveryResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}"[:300])
            await self._record(row, result)
        except Exception:
            log.exception("delivery failed to record", extra={"outbox_id": row["id"]})
        finally:
            self._slots.release()

    async def _load(self, row: dict[str, Any]) -> Delivery | None:
        rec = await self._pool.fetchrow(
            """
            SELECT a.idempotency_key, a.alert_type, a.severity, a.payload,
                   c.config, c.language, c.enabled, m.public_id AS monitor_public_id
            FROM alerts a JOIN alert_channels c ON c.id = $2
            LEFT JOIN monitors m ON m.id = a.monitor_id
            WHERE a.id = $1
            """,
            row["alert_id"], row["channel_id"],
        )
        if rec is None or not rec["enabled"]:
            await self._pool.execute(
                "UPDATE alert_outbox SET status = 'skipped', claimed_by = NULL, "
                "last_error = 'channel disabled or removed' WHERE id = $1",
                row["id"],
            )
            return None
        payload = rec["payload"]
        # For the log line of the outcome (_record).
        row["monitor_public_id"] = rec["monitor_public_id"]
        row["monitor_name"] = payload.get("monitor_name")
        row["alert_type"] = rec["alert_type"]
        language = rec["language"] or payload.get("language") or "en"
        config = rec["config"]
        if isinstance(config, dict):
            fields = _secret_fields(row["channel_kind"])
            try:
                config = open_secrets(self._secrets, config, fields)
            except SecretUnreadable:
                # The operator's key changed or went missing: nothing to send with, but the
                # alert waits for the right key rather than the channel being disabled.
                log.error("alert channel #%d: no configured LIGHTHOUSE_SECRET_KEY opens its "
                          "secret", row["channel_id"], extra={"channel_id": row["channel_id"]})
                await self._record(row, DeliveryResult(Outcome.RETRY, "secret_unreadable"))
                return None
        return Delivery(
            outbox_id=row["id"], alert_id=row["alert_id"],
            idempotency_key=rec["idempotency_key"], alert_type=rec["alert_type"],
            severity=rec["severity"], payload=payload,
            rendered=render(rec["alert_type"], rec["severity"], payload, language),
            channel_id=row["channel_id"], channel_kind=row["channel_kind"],
            channel_config=config, attempt=row["attempts"],
        )

    @staticmethod
    def _log_outcome(row: dict[str, Any], result: DeliveryResult, final: bool,
                     retry_in: float | None = None) -> None:
        public_id = str(row.get("monitor_public_id") or "?")
        name = row.get("monitor_name") or "?"
        outcome = "failed" if final else result.outcome.value
        fields = {"monitor_id": public_id, "monitor_name": name, "channel": row["channel_kind"],
                  "channel_id": row["channel_id"], "alert": row.get("alert_type"),
                  "outcome": outcome, "attempt": row["attempts"], "outbox_id": row["id"]}
        if result.outcome is Outcome.DELIVERED:
            log.info("alert %s for monitor %s (%s) delivered to %s #%d", row.get("alert_type"),
                     name, public_id[:8], row["channel_kind"], row["channel_id"], extra=fields)
        elif final:
            log.warning("alert %s for monitor %s (%s) failed for good on %s #%d: %s",
                        row.get("alert_type"), name, public_id[:8], row["channel_kind"],
                        row["channel_id"], result.error, extra={**fields, "error": result.error})
        else:
            log.log(logging.DEBUG if result.outcome is Outcome.DEFER else logging.INFO,
                    "alert %s for monitor %s (%s) not delivered to %s #%d yet (%s); retry in %.0f s",
                    row.get("alert_type"), name, public_id[:8], row["channel_kind"],
                    row["channel_id"], result.error, retry_in or 0.0,
                    extra={**fields, "error": result.error, "retry_in_s": retry_in})

    async def _record(self, row: dict[str, Any], result: DeliveryResult) -> None:
        final, retry_in = await self._store(row, result)
        self._log_outcome(row, result, final, retry_in)  # once it is committed
        if retry_in is None:  # done with: the next alert of its chat is claimable now
            self._wake.set()

    async def _store(self, row: dict[str, Any], result: DeliveryResult
                     ) -> tuple[bool, float | None]:
        """Record the outcome; returns (failed for good, seconds until the next attempt)."""
        kind = row["channel_kind"]
        self._metrics.deliveries_total.labels(kind, result.outcome.value).inc()
        async with self._pool.acquire() as conn, conn.transaction():
            if result.new_config is not None:
                new_config = result.new_config
                if self._secrets is not None:  # a channel hands back what it was given: open
                    new_config = self._secrets.seal_fields(new_config, _secret_fields(kind))
                await conn.execute(
                    "UPDATE alert_channels SET config = $2 WHERE id = $1",
                    row["channel_id"], new_config,
                )
            if result.outcome is Outcome.DELIVERED:
                await conn.execute(
                    "UPDATE alert_outbox SET status = 'delivered', delivered_at = now(), "
                    "claimed_by = NULL, claimed_until = NULL, last_error = NULL WHERE id = $1",
                    row["id"],
                )
                await conn.execute(
                    "UPDATE alert_channels SET last_delivery_at = now() WHERE id = $1",
                    row["channel_id"],
                )
                return False, None
            if result.disable_channel:
                await conn.execute(
                    "UPDATE alert_channels SET enabled = false, disabled_reason = $2 WHERE id = $1",
                    row["channel_id"], clean_text(result.error or "")[:1000] or None,
                )
            if result.outcome is Outcome.PERMANENT or (
                result.outcome is Outcome.RETRY and row["attempts"] >= MAX_ATTEMPTS
            ):
                await conn.execute(
                    "UPDATE alert_outbox SET status = 'failed', last_error = $2, "
                    "claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                    row["id"], clean_text(result.error or "")[:1000] or None,
                )
                return True, None
            delay = result.retry_after_s if result.retry_after_s is not None else backoff_s(
                row["attempts"]
            )
            # A deferred send was never tried: give its attempt back.
            refund = 1 if result.outcome is Outcome.DEFER else 0
            await conn.execute(
                "UPDATE alert_outbox SET last_error = $2, claimed_by = NULL, claimed_until = NULL, "
                "next_attempt_at = now() + make_interval(secs => $3), attempts = attempts - $4 "
                "WHERE id = $1",
                row["id"], clean_text(result.error or "")[:1000] or None, float(delay), refund,
            )
        return False, delay
