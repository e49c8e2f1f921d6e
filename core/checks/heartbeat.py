"""Heartbeat (push) monitor: the watched job pings us; silence or a failure ping is DOWN.

Each heartbeat monitor has a secret ping URL on the API (api/heartbeat.py):

    /ping/<token>          success (also /ping/<token>/0: exit status 0)
    /ping/<token>/fail     failure (also /ping/<token>/<non-zero exit status>)
    /ping/<token>/start    a run started (does not count as success)

Only ``sha256(token)`` is stored: in the ``heartbeats`` row (sql/0005_heartbeats.sql) and in
the monitor's config (``token_hash``), which is how this check, which knows only its config,
finds the row. The clear token is returned once, by ``MonitorService.create_heartbeat``.

Judgement (times from the database clock, the same one that stamps pings):

* last ping ``fail`` -> DOWN ``heartbeat_failed`` (until the next success ping);
* ``max_run_s`` set and the last ping a ``start`` older than that -> DOWN ``run_too_long``;
* no success ping within ``period_s + grace_s`` of the last success (or of the heartbeat's
  creation, if it never pinged) -> DOWN ``heartbeat_late`` / ``heartbeat_missing``.

Database access: the pool comes in the check's context (``CheckContext.pool`` for a run,
``PreflightContext.pool`` at creation), set by the runtime's ``open_core`` and by
``MonitorService``. Without one (``lighthouse check``) the check fails with
``heartbeat_store_unavailable`` rather than guessing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any, ClassVar, Literal

from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    PreflightContext,
)
from lighthouse.core.errors import ValidationError
from lighthouse.core.text import clean_text
from pydantic import Field, field_validator

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
MESSAGE_LIMIT = 1000
PingKind = Literal["success", "fail", "start"]

def new_token() -> str:
    """A fresh secret ping token (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Stands in for the hash while a request is judged before its ping URL exists.
_DRAFT_HASH = "0" * 64


def draft_config(config: dict[str, Any]) -> dict[str, Any]:
    """A heartbeat config as a person sends it, ready to validate: ``token_hash`` belongs to
    the server (``MonitorService.create_heartbeat`` makes the ping URL), so one sent in is
    refused, and a stand-in takes its place."""
    if "token_hash" in config:
        raise ValidationError("token_hash is set by the server", field="token_hash",
                              reason="read_only")
    return {**config, "token_hash": _DRAFT_HASH}


async def reserve_heartbeat(pool: Any, token_hash: str) -> None:
    """Write the row before its monitor exists, so the monitor's first check finds it."""
    await pool.execute("INSERT INTO heartbeats (token_hash) VALUES ($1)", token_hash)


async def heartbeat_exists(pool: Any, token_hash: str) -> bool:
    return bool(await pool.fetchval("SELECT 1 FROM heartbeats WHERE token_hash = $1", token_hash))


async def attach_heartbeat(pool: Any, token_hash: str, monitor_id: int | None) -> None:
    """Link the row to its monitor, or drop it (None) when the monitor was not created."""
    if monitor_id is None:
        await pool.execute("DELETE FROM heartbeats WHERE token_hash = $1 AND monitor_id IS NULL",
                           token_hash)
    else:
        await pool.execute("UPDATE heartbeats SET monitor_id = $2 WHERE token_hash = $1",
                           token_hash, monitor_id)


async def record_ping(pool: Any, token: str, kind: PingKind, message: str | None = None) -> bool:
    """Record one ping; False when the token is unknown (the route answers 404).

    A failure ping, or a success ping while the monitor is DOWN, makes the monitor due at
    once, so the state change does not wait for its next scheduled check.
    """
    if not TOKEN_RE.match(token):
        return False
    row = await pool.fetchrow(
        """
        UPDATE heartbeats SET
            last_ping_at = now(), last_kind = $2, pings = pings + 1,
            last_success_at = CASE WHEN $2 = 'success' THEN now() ELSE last_success_at END,
            last_start_at = CASE WHEN $2 = 'start' THEN now() ELSE last_start_at END,
            last_fail_at = CASE WHEN $2 = 'fail' THEN now() ELSE last_fail_at END,
            last_message = $3
        WHERE token_hash = $1
        RETURNING monitor_id
        """,
        hash_token(token), kind, clean_text(message[:MESSAGE_LIMIT]) if message else None,
    )
    if row is None:
        return False
    if kind != "start" and row["monitor_id"] is not None:
        await pool.execute(
            "UPDATE monitors SET next_due = now() WHERE id = $1 AND state <> 'paused' "
            "AND ($2 = 'fail' OR state = 'down') AND next_due > now()",
            row["monitor_id"], kind,
        )
    return True


# The stored error of a failure ping; what follows ": " is the job's own message, which
# core/checks/failures.py keeps beside the localized words.
FAILED_PING = "the last ping reported a failure"

class HeartbeatConfig(CheckConfig):
    period_s: int = Field(ge=30, le=30 * 86_400)
    grace_s: int = Field(default=300, ge=0, le=7 * 86_400)
    max_run_s: int | None = Field(default=None, ge=1, le=7 * 86_400)
    token_hash: str | None = None  # set by MonitorService.create_heartbeat, never by users

    @field_validator("token_hash")
    @classmethod
    def _hash(cls, value: str | None) -> str:
        if value is None:
            raise ValidationError(
                "heartbeat monitors are created with their ping URL (create_heartbeat)",
                field="token_hash", reason="missing",
            )
        if not _HASH_RE.match(value):
            raise ValidationError("token_hash: not a SHA-256 hex digest", field="token_hash",
                                  reason="invalid")
        return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class HeartbeatCheck(CheckTypeBase):
    name: ClassVar[str] = "heartbeat"
    config_model: ClassVar[type[CheckConfig]] = HeartbeatConfig
    example: ClassVar[dict[str, Any]] = {"period_s": 3600, "grace_s": 300, "token_hash": "0" * 64}

    def target_host(self, config: HeartbeatConfig) -> str:
        return ""  # push: nothing is contacted

    def describe(self, config: HeartbeatConfig) -> str:
        return f"heartbeat every {config.period_s} s (+{config.grace_s} s grace)"

    async def preflight(self, config: HeartbeatConfig, ctx: PreflightContext) -> None:
        """No outbound target (nothing for the SSRF guard). The token hash must be one just
        reserved by ``MonitorService.create_heartbeat``, so a config cannot borrow another
        heartbeat's row."""
        if ctx.pool is None:
            return
        reserved = await ctx.pool.fetchval(
            "SELECT 1 FROM heartbeats WHERE token_hash = $1 AND monitor_id IS NULL",
            config.token_hash,
        )
        if not reserved:
            raise ValidationError("heartbeat monitors are created with their ping URL "
                                  "(create_heartbeat)", field="token_hash", reason="unknown")

    async def run(self, config: HeartbeatConfig, ctx: CheckContext) -> CheckResult:
        pool = ctx.pool
        if pool is None:
            return CheckResult(ok=False, error_code="heartbeat_store_unavailable",
                               error="no database to read the pings from in this process")
        row = await pool.fetchrow(
            "SELECT created_at, last_ping_at, last_kind, last_success_at, last_start_at, "
            "last_fail_at, last_message, pings, now() AS db_now "
            "FROM heartbeats WHERE token_hash = $1",
            config.token_hash,
        )
        if row is None:
            return CheckResult(ok=False, error_code="heartbeat_unknown",
                               error="no ping URL is registered for this monitor")
        now: datetime = row["db_now"]
        since = row["last_success_at"] or row["created_at"]
        due = since.timestamp() + config.period_s + config.grace_s
        details: dict[str, Any] = {
            "last_ping_at": _iso(row["last_ping_at"]),
            "last_kind": row["last_kind"],
            "last_success_at": _iso(row["last_success_at"]),
            "pings": row["pings"],
            "due_in_s": round(due - now.timestamp(), 1),
        }
        result = CheckResult(ok=True, details=details)
        if row["last_kind"] == "fail":
            message = (row["last_message"] or "").strip()
            result.ok, result.error_code = False, "heartbeat_failed"
            result.error = FAILED_PING + (f": {message[:200]}" if message else "")
            return result
        if (config.max_run_s is not None and row["last_kind"] == "start"
                and now.timestamp() - row["last_start_at"].timestamp() > config.max_run_s):
            running = now.timestamp() - row["last_start_at"].timestamp()
            result.ok, result.error_code = False, "run_too_long"
            result.error = f"started {running:.0f} s ago without finishing (max {config.max_run_s} s)"
            return result
        late = now.timestamp() - due
        if late > 0:
            result.ok = False
            if row["last_success_at"] is None:
                result.error_code = "heartbeat_missing"
                result.error = f"no ping received {late:.0f} s after the first one was due"
            else:
                result.error_code = "heartbeat_late"
                ago = now.timestamp() - row["last_success_at"].timestamp()
                result.error = (f"last ping {ago:.0f} s ago; expected every {config.period_s} s "
                                f"(+{config.grace_s} s grace)")
        return result
