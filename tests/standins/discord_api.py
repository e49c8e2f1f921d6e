"""Discord REST (/api/v10) and gateway stand-in for the real discord.py 2.7 client.

Protocol facts encoded here (read in discord.py 2.7.1; verify against real Discord):

* discord.py parses a body as JSON only if `Content-Type` is exactly `application/json`
  (`http.json_or_text`); aiohttp's `json_response` adds `; charset=utf-8`, so `_json()` sets it.
* Bot routes carry `Authorization: Bot <token>`; a wrong token gets 401 (`login()` raises
  `LoginFailure`). Interaction callbacks and interaction webhooks carry no bot token.
* 429: discord.py retries only if the response has a `Via` header and a JSON body with
  `retry_after` (else it assumes a Cloudflare ban); `global: true` pauses every route.
  Successful answers carry `X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket`.
* 500/502/504/524 are retried by discord.py (sleeping 1+2n s, 5 tries); 503 and other 5xx
  raise `DiscordServerError` at once. 403 raises `Forbidden` (`e.code` from the body).
* Files are multipart/form-data: a `payload_json` part plus `files[n]` parts.
* `POST /interactions/{id}/{token}/callback?with_response=1` answers
  `{interaction:{id,type,response_message_id,...}, resource:{type, message?}}`; a View sent
  with the reply is stored under `response_message_id`, and a component interaction reaches it
  only if its `message.id` is that id. Answering twice: 400 code 40060.
* Gateway: HELLO (op 10) first; the client heartbeats at once (op 1 → ACK op 11); IDENTIFY
  (op 2) → READY dispatch with user, guilds, session_id, resume_gateway_url, application.
  Text frames are accepted although the client asks for `compress=zlib-stream`. An unsharded
  Client never calls `GET /gateway/bot`. RESUME (op 6) → RESUMED; op 7 asks for a reconnect.
* INTERACTION_CREATE needs `attachment_size_limit` (KeyError otherwise), plus id, token,
  version, application_id, type, data, channel, user (DM) or member+guild_id, locale,
  entitlements, context, authorizing_integration_owners.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import Call, StandInServer, UploadedFile

if TYPE_CHECKING:
    import pytest

DISCORD_EPOCH_MS = 1420070400000
ALL_PERMISSIONS = "562949953421311"
UNKNOWN_MESSAGE = {"message": "Unknown Message", "code": 10008}
Result = tuple[int, Any]  # (HTTP status, JSON payload)


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    headers = {"Content-Type": "application/json", **(headers or {})}  # exactly this, no charset
    return web.Response(status=status, body=json.dumps(data).encode(), headers=headers)


def aim_discord_py(api_base: str, gateway_url: str) -> Callable[[], None]:
    """Aim every discord.py client in this process at a stand-in; returns what undoes it.

    discord.py 2.7 has no per-client endpoint: REST URLs come from the class attribute
    ``Route.BASE`` (also for interaction callbacks, built by the webhook adapter) and an
    unsharded client connects to ``DiscordWebSocket.DEFAULT_GATEWAY``; its per-client knobs
    (connector, proxy) cannot turn https://discord.com into a plain local URL. So the
    patch lives here, in test code, and the service never touches these globals.
    """
    import discord
    import yarl

    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = api_base  # type: ignore[misc]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def undo() -> None:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved  # type: ignore[misc]

    return undo


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int | None  # None = until cleared


@dataclass
class _Session:
    ws: web.WebSocketResponse
    session_id: str | None = None
    seq: int = 0


class DiscordStandIn(StandInServer):
    """Discord API stand-in. Route names used in `Call.name` and by the failure knobs:

    get_me, get_user, application_info, gateway_info, sync_commands, sync_guild_commands,
    interaction_callback, get_original, edit_original, delete_original, followup,
    edit_followup, create_dm, send_message, edit_message, unhandled (any other route, 404);
    gateway frames: gateway.connect, gateway.identify, gateway.heartbeat, gateway.resume,
    gateway.op<N> (`Call.body` is the frame's `d`).
    """

    WEBHOOK_ROUTES = frozenset({"interaction_callback", "get_original", "edit_original",
                                "delete_original", "followup", "edit_followup"})

    def __init__(
        self,
        *,
        token: str = "discord-test-token",
        app_id: int = 1100000000000000001,
        bot_id: int = 1100000000000000002,
        bot_name: str = "Lighthouse",
        heartbeat_interval_ms: int = 41250,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.token, self.app_id, self.heartbeat_interval_ms = token, app_id, heartbeat_interval_ms
        self.bot_user = self._user_obj(bot_id, bot_name, bot=True)
        self.users: dict[int, dict[str, Any]] = {bot_id: self.bot_user}
        self.global_commands: list[dict[str, Any]] = []  # last global sync, with ids
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}  # every message the stand-in created
        self.interactions: dict[int, dict[str, Any]] = {}  # injected INTERACTION_CREATE payloads
        self.dm_channels: dict[int, int] = {}  # DM channel id -> recipient user id
        self.closed_dms: set[int] = set()
        self._original: dict[str, int] = {}  # interaction token -> original response message id
        self._responded: set[int] = set()
        self._failures: dict[str, list[_Failure]] = {}
        self._sessions: list[_Session] = []
        self._counter = itertools.count()

    # -- helpers -----------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return f"{self.http_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def patch_discord_py(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py's REST base (incl. interaction webhooks) and gateway here."""
        import discord
        import yarl

        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    def aim_discord_py(self) -> Callable[[], None]:
        """``patch_discord_py`` without pytest (benchmarks); returns what undoes it."""
        return aim_discord_py(self.api_base, self.gateway_url)

    def snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    @staticmethod
    def _user_obj(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
                "avatar": None, "bot": bot, "flags": 0, "public_flags": 0}

    def add_user(self, user_id: int, name: str | None = None) -> dict[str, Any]:
        self.users[user_id] = self._user_obj(user_id, name or f"user{user_id}")
        return self.users[user_id]

    def user(self, user_id: int) -> dict[str, Any]:
        """The user object for an id (made up on first use)."""
        return self.users.get(user_id) or self.add_user(user_id)

    # -- failure knobs -------------------------------------------------------------------
    def close_dms(self, user_id: int) -> None:
        """Sends into this user's DM channel answer 403 code 50007 until `open_dms`."""
        self.closed_dms.add(user_id)

    def open_dms(self, user_id: int) -> None:
        self.closed_dms.discard(user_id)

    def rate_limit(
        self, route: str = "send_message", *, times: int = 1, retry_after: float = 0.05,
        is_global: bool = False,
    ) -> None:
        """The next `times` requests to `route` answer 429 with Discord's headers and body."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after,
                "global": is_global, "code": 0}
        headers = {"Via": "1.1 google", "Retry-After": str(math.ceil(retry_after)),
                   "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                   "X-RateLimit-Reset-After": f"{retry_after:.3f}", "X-RateLimit-Bucket": f"bucket-{route}",
                   "X-RateLimit-Scope": "global" if is_global else "user"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        self._failures.setdefault(route, []).append(_Failure(429, body, headers, times))

    def fail(
        self, route: str = "send_message", *, status: int = 500, code: int = 0,
        message: str = "Internal Server Error", times: int | None = 1,
    ) -> None:
        """The next `times` (None: all) requests to `route` answer `status` {message, code}."""
        body = {"message": message, "code": code}
        self._failures.setdefault(route, []).append(_Failure(status, body, {}, times))

    def clear_failures(self) -> None:
        self._failures.clear()
        self.closed_dms.clear()

    def _take_failure(self, route: str) -> _Failure | None:
        queue = self._failures.get(route) or []
        if not queue:
            return None
        failure = queue[0]
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        return failure

    # -- aiohttp app -----------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application()
        api = "/api/v10"
        routes = [
            ("GET", "/users/@me", "get_me"),
            ("POST", "/users/@me/channels", "create_dm"),
            ("GET", "/users/{user_id}", "get_user"),
            ("GET", "/oauth2/applications/@me", "application_info"),
            ("GET", "/gateway", "gateway_info"),
            ("GET", "/gateway/bot", "gateway_info"),
            ("PUT", "/applications/{app}/commands", "sync_commands"),
            ("PUT", "/applications/{app}/guilds/{guild_id}/commands", "sync_guild_commands"),
            ("POST", "/interactions/{interaction_id}/{token}/callback", "interaction_callback"),
            ("POST", "/channels/{channel_id}/messages", "send_message"),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", "edit_message"),
            ("GET", "/webhooks/{app}/{token}/messages/@original", "get_original"),
            ("PATCH", "/webhooks/{app}/{token}/messages/@original", "edit_original"),
            ("DELETE", "/webhooks/{app}/{token}/messages/@original", "delete_original"),
            ("PATCH", "/webhooks/{app}/{token}/messages/{message_id}", "edit_followup"),
            ("POST", "/webhooks/{app}/{token}", "followup"),
        ]
        for method, path, name in routes:
            app.router.add_route(method, api + path, self._endpoint(name))
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._endpoint("unhandled"))
        return app

    def _endpoint(self, name: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            body, files = await self._read_body(request)
            params: dict[str, Any] = {**request.match_info, **request.query}
            status, payload, headers = self._answer(name, request, params, body, files)
            await self.record(Call(name, params, body, files, status, payload, request.method, request.path))
            return web.Response(status=204) if status == 204 else _json(payload, status, headers)

        return handler

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type != "multipart/form-data":
            raw = await request.read()
            return (json.loads(raw) if raw else None), []
        body: Any = None
        files: list[UploadedFile] = []
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files.append(UploadedFile(key, value.filename, value.content_type, value.file.read()))
            elif key == "payload_json":
                body = json.loads(value)
        return body, files

    def _answer(
        self, name: str, request: web.Request, params: dict[str, Any], body: Any, files: list[UploadedFile]
    ) -> tuple[int, Any, dict[str, str]]:
        needs_auth = name not in self.WEBHOOK_ROUTES and name != "unhandled"
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        failure = self._take_failure(name)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4",
                   "X-RateLimit-Reset": f"{time.time() + 1:.3f}", "X-RateLimit-Reset-After": "1.000",
                   "X-RateLimit-Bucket": f"bucket-{name}"}
        status, payload = getattr(self, f"_on_{name}")(params, body or {}, files)
        return status, payload, headers

    # -- REST handlers: (params, body, files) -> (status, payload) ---------------------------
    def _on_unhandled(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return 404, {"message": "404: Not Found", "code": 0}

    def _on_get_me(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return 200, self.bot_user

    def _on_get_user(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return 200, self.user(int(params["user_id"]))

    def _on_application_info(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return 200, {"id": str(self.app_id), "name": self.bot_user["username"], "description": "",
                     "icon": None, "bot_public": True, "bot_require_code_grant": False,
                     "owner": self.user(1), "verify_key": "0" * 64, "flags": 0, "bot": self.bot_user,
                     "team": None, "interactions_endpoint_url": None}

    def _on_gateway_info(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    def _synced(self, commands: list[dict[str, Any]], guild_id: int | None) -> list[dict[str, Any]]:
        extra = {"application_id": str(self.app_id)} | ({"guild_id": str(guild_id)} if guild_id else {})
        return [{"type": 1, **cmd, "id": str(self.snowflake()), "version": str(self.snowflake()), **extra}
                for cmd in commands]

    def _on_sync_commands(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        self.global_commands = self._synced(body or [], None)
        return 200, self.global_commands

    def _on_sync_guild_commands(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        guild_id = int(params["guild_id"])
        self.guild_commands[guild_id] = self._synced(body or [], guild_id)
        return 200, self.guild_commands[guild_id]

    def _on_create_dm(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        user_id = int(body["recipient_id"])
        channel_id = next((c for c, u in self.dm_channels.items() if u == user_id), None) or self.snowflake()
        self.dm_channels[channel_id] = user_id
        recipients = [self.user(user_id)]
        return 200, {"id": str(channel_id), "type": 1, "last_message_id": None, "recipients": recipients}

    def _on_send_message(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        channel_id = int(params["channel_id"])
        if self.dm_channels.get(channel_id) in self.closed_dms:
            return 403, {"message": "Cannot send messages to this user", "code": 50007}
        return 200, self._store_message(channel_id, body, files)

    def _on_edit_message(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return self._edit(int(params["message_id"]), body, files)

    def _on_interaction_callback(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        inter = self.interactions.get(int(params["interaction_id"]))
        if inter is None or inter["token"] != params["token"]:
            return 404, {"message": "Unknown interaction", "code": 10062}
        if int(inter["id"]) in self._responded:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        self._responded.add(int(inter["id"]))
        kind, data = body.get("type"), body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message: dict[str, Any] | None = None
        if kind in (4, 5):  # channel message / deferred ("thinking", flag 128) channel message
            content = data if kind == 4 else {}
            loading = 128 if kind == 5 else 0
            channel_id = int(inter["channel_id"])
            message = self._store_message(channel_id, content, files, flags=flags | loading, hook=True)
        elif kind in (6, 7) and "message" in inter:  # (deferred) update of the clicked message
            self._original[inter["token"]] = int(inter["message"]["id"])
            if kind == 7:
                message = self._edit(int(inter["message"]["id"]), data, files)[1]
        resource: dict[str, Any] = {"type": kind}  # 8 autocomplete / 9 modal: no message
        if message is not None:
            self._original[inter["token"]] = int(message["id"])
            resource["message"] = message
        return 200, {"interaction": {
            "id": inter["id"], "type": inter["type"], "activity_instance_id": None,
            "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == 5, "response_message_ephemeral": bool(flags & 64),
        }, "resource": resource}

    def _on_get_original(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        mid = self._original.get(params["token"], 0)
        return (200, self.messages[mid]) if mid in self.messages else (404, UNKNOWN_MESSAGE)

    def _on_edit_original(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return self._edit(self._original.get(params["token"], 0), body, files, loading_done=True)

    def _on_delete_original(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        found = self.messages.pop(self._original.pop(params["token"], 0), None)
        return (204, None) if found else (404, UNKNOWN_MESSAGE)

    def _on_followup(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        inter = next((i for i in self.interactions.values() if i["token"] == params["token"]), None)
        if inter is None:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        msg = self._store_message(int(inter["channel_id"]), body, files, hook=True)
        return (200, msg) if params.get("wait") in ("1", "true", "True") else (204, None)

    def _on_edit_followup(self, params: dict[str, Any], body: Any, files: Any) -> Result:
        return self._edit(int(params["message_id"]), body, files)

    # -- messages ------------------------------------------------------------------------
    def _attachments(self, files: list[UploadedFile]) -> list[dict[str, Any]]:
        out = []
        for f in files:
            aid = self.snowflake()
            url = f"{self.http_url}/attachments/{aid}/{f.filename}"
            out.append({"id": str(aid), "filename": f.filename or "file", "size": len(f.data), "url": url,
                        "proxy_url": url, "content_type": f.content_type})
        return out

    def _store_message(
        self, channel_id: int, body: Mapping[str, Any], files: list[UploadedFile], *,
        flags: int | None = None, hook: bool = False,
    ) -> dict[str, Any]:
        mid = self.snowflake()
        msg: dict[str, Any] = {
            "id": str(mid), "channel_id": str(channel_id), "author": self.bot_user,
            "content": body.get("content") or "", "timestamp": _now(), "edited_timestamp": None,
            "tts": bool(body.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": self._attachments(files), "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "pinned": False, "type": 20 if hook else 0,
            "flags": int(body.get("flags") or 0) if flags is None else flags,
        }
        if hook:  # interaction responses and followups are webhook messages
            msg["webhook_id"] = msg["application_id"] = str(self.app_id)
        self.messages[mid] = msg
        return msg

    def _edit(
        self, mid: int, body: Mapping[str, Any], files: list[UploadedFile], *, loading_done: bool = False
    ) -> Result:
        msg = self.messages.get(mid)
        if msg is None:
            return 404, UNKNOWN_MESSAGE
        for key in ("content", "embeds", "components"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        msg["attachments"] = msg["attachments"] + self._attachments(files)
        if loading_done:
            msg["flags"] = int(msg["flags"]) & ~128
        msg["edited_timestamp"] = _now()
        return 200, msg

    # -- gateway -------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(ws)
        self._sessions.append(session)
        await self.record(Call("gateway.connect", dict(request.query), http_method="GET", path=request.path))
        hello = {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
        await ws.send_json(hello)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_frame(session, json.loads(msg.data))
        finally:
            self._sessions.remove(session)
        return ws

    async def _on_frame(self, session: _Session, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        d: dict[str, Any] = data if isinstance(data, dict) else {}
        names = {1: "gateway.heartbeat", 2: "gateway.identify", 6: "gateway.resume"}
        await self.record(Call(names.get(op or 0, f"gateway.op{op}"), {"op": op}, data))
        if op == 1:
            await session.ws.send_json({"op": 11, "d": None, "s": None, "t": None})
        elif op in (2, 6) and d.get("token") != self.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
        elif op == 2:
            session.session_id = secrets.token_hex(16)
            await self._send(session, "READY", {
                "v": 10, "user": self.bot_user, "guilds": [], "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url, "private_channels": [],
                "application": {"id": str(self.app_id), "flags": 0}})
        elif op == 6 and not d.get("session_id"):
            await session.ws.send_json({"op": 9, "d": False, "s": None, "t": None})  # INVALID_SESSION
        elif op == 6:
            session.session_id, session.seq = d["session_id"], int(d.get("seq") or 0)
            await self._send(session, "RESUMED", {})

    async def _send(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        await session.ws.send_json({"op": 0, "t": event, "s": session.seq, "d": data})

    async def dispatch(self, event: str, data: dict[str, Any], *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send a dispatch (op 0) to the newest live session, waiting for an IDENTIFY first."""
        await self.wait_call("gateway.identify", timeout=timeout)
        live = [s for s in self._sessions if s.session_id and not s.ws.closed]
        if not live:
            raise RuntimeError("no identified gateway session")
        await self._send(live[-1], event, data)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py reconnects to resume_gateway_url and RESUMEs."""
        for s in list(self._sessions):
            await s.ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    async def before_stop(self) -> None:
        for s in list(self._sessions):
            await s.ws.close(code=1001)

    # -- injected interactions -------------------------------------------------------------
    def interaction_payload(
        self, kind: int, data: dict[str, Any], *, user_id: int = 4242, locale: str = "en-US",
        guild_id: int | None = None, channel_id: int | None = None, message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload with every field discord.py 2.7 reads: a DM with `user`
        (context 1, BOT_DM), or a guild text channel with `member` (context 0) if `guild_id`."""
        user = self.user(user_id)
        if channel_id is None:
            channel_id = int(message["channel_id"]) if message else self.snowflake()
        payload: dict[str, Any] = {
            "id": str(self.snowflake()), "application_id": str(self.app_id), "type": kind,
            "token": secrets.token_urlsafe(24), "version": 1, "data": data, "channel_id": str(channel_id),
            "locale": locale, "entitlements": [], "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": ALL_PERMISSIONS,
        }
        if guild_id is None:
            payload.update(
                channel={"id": str(channel_id), "type": 1, "recipients": [user]}, user=user, context=1,
                authorizing_integration_owners={"1": str(user_id)},
            )
        else:
            payload.update(
                guild_id=str(guild_id), guild_locale="en-US",
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                channel={"id": str(channel_id), "type": 0, "name": "general", "position": 0, "nsfw": False,
                         "guild_id": str(guild_id), "permission_overwrites": [], "parent_id": None},
                member={"user": user, "roles": [], "flags": 0, "nick": None, "deaf": False, "mute": False,
                        "joined_at": "2024-01-01T00:00:00+00:00", "permissions": ALL_PERMISSIONS},
                context=0, authorizing_integration_owners={"0": str(guild_id)},
            )
        if message is not None:
            payload["message"] = message
        return payload

    async def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Dispatch an INTERACTION_CREATE payload (see `interaction_payload`) and return it."""
        self.interactions[int(payload["id"])] = payload
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    @staticmethod
    def _options(options: Mapping[str, Any] | list[dict[str, Any]] | None, focused: str | None) -> list[Any]:
        if isinstance(options, list):  # raw option dicts, e.g. with explicit types
            return options
        out = []
        for name, value in (options or {}).items():
            kind = {bool: 5, int: 4, float: 10}.get(type(value), 3)
            opt: dict[str, Any] = {"name": name, "type": kind, "value": value}
            if name == focused:  # autocomplete sends what the user typed so far, as a string
                opt.update(type=3, value=str(value), focused=True)
            out.append(opt)
        return out

    async def inject_command(
        self, command: str, options: Mapping[str, Any] | list[dict[str, Any]] | None = None, *,
        focused: str | None = None, guild_id: int | None = None, **kw: Any,
    ) -> dict[str, Any]:
        """Slash command "monitor", "monitor add" (subcommand) or "admin monitor add" (subcommand
        group "monitor"). Option types follow the Python values (str 3, int 4, bool 5, float 10).
        `focused` makes it an autocomplete interaction (type 4) for that option.
        `kw`: user_id, locale, channel_id (see `interaction_payload`)."""
        root, *path = command.split()
        leaf = self._options(options, focused)
        for depth, name in reversed(list(enumerate(path))):
            leaf = [{"name": name, "type": 1 if depth == len(path) - 1 else 2, "options": leaf}]
        known = self.guild_commands.get(guild_id or 0, []) + self.global_commands
        cmd_id = next((c["id"] for c in known if c["name"] == root), str(self.snowflake()))
        data: dict[str, Any] = {"id": cmd_id, "name": root, "type": 1, "options": leaf}
        if guild_id is not None and guild_id in self.guild_commands:
            data["guild_id"] = str(guild_id)
        return await self.inject(self.interaction_payload(4 if focused else 2, data, guild_id=guild_id, **kw))

    async def inject_autocomplete(
        self, command: str, options: Mapping[str, Any], focused: str, **kw: Any
    ) -> dict[str, Any]:
        return await self.inject_command(command, options, focused=focused, **kw)

    async def inject_component(
        self, custom_id: str, *, message_id: int | None = None, component_type: int = 2,
        values: list[str] | None = None, **kw: Any,
    ) -> dict[str, Any]:
        """Button click (component_type 2) or select (3, with `values`) on a stored message.
        Without `message_id`, the newest message holding a component `custom_id` is used."""
        if message_id is None:
            needle = json.dumps({"custom_id": custom_id})[1:-1]
            holders = [m for m in self.messages.values() if needle in json.dumps(m["components"])]
            message_id = int(holders[-1]["id"]) if holders else None
        if message_id is None or message_id not in self.messages:
            raise LookupError(f"no stored message with component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self.inject(self.interaction_payload(3, data, message=self.messages[message_id], **kw))

    async def wait_interaction_response(self, interaction: dict[str, Any], timeout: float = 5.0) -> Call:  # noqa: ASYNC109
        """The `interaction_callback` call that answered this injected interaction."""
        return await self.wait_call(
            "interaction_callback", lambda c: c.params["interaction_id"] == interaction["id"], timeout=timeout
        )
