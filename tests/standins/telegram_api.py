"""Telegram Bot API stand-in for the real python-telegram-bot 22.8 client.

Protocol facts encoded here (Bot API docs as read in 2026; PTB 22.8 sources; verify against
real Telegram before release):

* Every method is `POST /bot<token>/<method>` (PTB: `ApplicationBuilder().base_url(
  "<stand-in>/bot")`). PTB sends parameters as form fields, JSON-encoding non-strings
  (`chat_id="123"`, `disable_notification="true"`, `reply_markup='{"inline_keyboard":...}'`)
  and multipart/form-data when a file is attached (`sendPhoto`: the `photo` part). JSON
  bodies and query strings are accepted too. `Call.params` keeps scalars as the strings PTB
  sent and decodes JSON objects/arrays.
* Envelope `{"ok":true,"result":...}`; errors `{"ok":false,"error_code":N,"description":...,
  "parameters":{...}}`. PTB maps 403 → Forbidden, 400 → BadRequest, 401/404 → InvalidToken,
  other codes → NetworkError; `parameters.migrate_to_chat_id` → ChatMigrated and
  `parameters.retry_after` → RetryAfter whatever the status.
* `getUpdates(offset, limit, timeout)`: updates with `update_id < offset` are confirmed and
  dropped; an empty queue is held open up to `timeout` s (here capped at `max_poll_wait`)
  and answered at once when an update arrives. 409 while a webhook is set.
  PTB's order: getMe → deleteWebhook → getUpdates… → getUpdates(timeout=0) on stop.
* CommandHandler needs a `bot_command` entity at offset 0; inject_message adds it.
* Bots cannot edit a message to the same text: 400 "message is not modified".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import Call, StandInServer, UploadedFile

BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    times: int | None  # None = until cleared


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# Free-text parameters are never JSON-decoded, even when they look like JSON.
TEXT_PARAMS = frozenset({"text", "caption", "description", "short_description", "title", "name", "query",
                         "url", "question", "explanation", "data"})
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                    "delete the webhook first")


def _normalize(params: Mapping[str, Any]) -> dict[str, Any]:
    """Scalars as PTB's form encoding sends them; JSON objects/arrays decoded."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in ("{", "[") and key not in TEXT_PARAMS:
            try:
                value = json.loads(value)
            except ValueError:
                pass
        elif value is None:
            continue
        elif not isinstance(value, (str, dict, list)):
            value = json.dumps(value)  # 7 -> "7", True -> "true", as in a form
        out[key] = value
    return out


class TelegramStandIn(StandInServer):
    """Bot API stand-in. `Call.name` is the method name as sent (e.g. "sendMessage")."""

    def __init__(
        self, *, token: str = "123456:TEST-token", bot_id: int = 123456,
        username: str = "lighthouse_test_bot", max_poll_wait: float = 1.0, host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.token, self.max_poll_wait = token, max_poll_wait
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "Lighthouse", "username": username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat_id, message_id), both directions
        self.commands: dict[str, list[dict[str, Any]]] = {}  # by language_code ("" = default); scope ignored
        self.webhook_url = ""
        self.pending: list[dict[str, Any]] = []  # injected updates not yet confirmed by an offset
        self._failures: dict[str, list[_Failure]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._updates = asyncio.Condition()
        self._closing = False

    @property
    def base_url(self) -> str:
        return f"{self.http_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.http_url}/file/bot"

    # -- failure knobs (apply to any method whose chat_id matches) -------------------------
    def _add_failure(self, chat_id: int | str, failure: _Failure) -> None:
        self._failures.setdefault(str(chat_id), []).append(failure)

    def block_chat(self, chat_id: int | str, *, times: int | None = None) -> None:
        """403 "Forbidden: bot was blocked by the user" (until cleared, by default)."""
        self._add_failure(chat_id, _Failure(403, BLOCKED, None, times))

    def migrate_chat(self, chat_id: int | str, new_chat_id: int, *, times: int | None = None) -> None:
        """400 with parameters.migrate_to_chat_id (a group upgraded to a supergroup)."""
        desc = "Bad Request: group chat was upgraded to a supergroup chat"
        self._add_failure(chat_id, _Failure(400, desc, {"migrate_to_chat_id": new_chat_id}, times))

    def rate_limit_chat(self, chat_id: int | str, *, retry_after: int = 1, times: int | None = 1) -> None:
        """429 "Too Many Requests: retry after N" with parameters.retry_after."""
        desc = f"Too Many Requests: retry after {retry_after}"
        self._add_failure(chat_id, _Failure(429, desc, {"retry_after": retry_after}, times))

    def fail_chat(
        self, chat_id: int | str, *, status: int = 500, description: str = "Internal Server Error",
        times: int | None = 1,
    ) -> None:
        self._add_failure(chat_id, _Failure(status, description, None, times))

    def clear_failures(self, chat_id: int | str | None = None) -> None:
        if chat_id is None:
            self._failures.clear()
        else:
            self._failures.pop(str(chat_id), None)

    def _take_failure(self, params: Mapping[str, Any]) -> _Failure | None:
        queue = self._failures.get(str(params.get("chat_id")), [])
        if not queue:
            return None
        failure = queue[0]
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        return failure

    # -- aiohttp app ---------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params, files = await self._read(request)
        call = Call(method, params, None, files, 200, None, request.method, request.path)
        long_poll = method.lower() == "getupdates" and token == self.token
        if long_poll:
            await self.record(call)  # recorded on arrival: tests wait for the poll itself
            try:
                response = await self._get_updates(params)
            except asyncio.CancelledError:  # the client went away (e.g. Updater.stop())
                call.status = 499
                raise
        else:
            response = self._answer(token, method, params)
        call.status, call.response = response.status, json.loads(bytes(response.body))  # type: ignore[arg-type]
        if not long_poll:
            await self.record(call)
        return response

    @staticmethod
    async def _read(request: web.Request) -> tuple[dict[str, Any], list[UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: list[UploadedFile] = []
        if request.content_type == "application/json":
            raw.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files.append(UploadedFile(key, value.filename, value.content_type, value.file.read()))
                else:
                    raw[key] = value
        return _normalize(raw), files

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> web.Response:
        if token != self.token:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"_on_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        failure = self._take_failure(params)
        if failure is not None:
            return _error(failure.status, failure.description, failure.parameters)
        result: web.Response = handler(params)
        return result

    # -- methods (Bot API method names are case-insensitive) --------------------------------
    def _on_getme(self, params: dict[str, Any]) -> web.Response:
        return _ok(self.bot_user)

    def _on_setwebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = params.get("url", "")
        return _ok(True)

    def _on_deletewebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = ""
        if params.get("drop_pending_updates") == "true":
            self.pending.clear()
        return _ok(True)

    def _on_getwebhookinfo(self, params: dict[str, Any]) -> web.Response:
        count = 0 if self.webhook_url else len(self.pending)
        return _ok({"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": count})

    def _on_logout(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    _on_close = _on_logout

    def _on_setmycommands(self, params: dict[str, Any]) -> web.Response:
        self.commands[params.get("language_code", "")] = list(params.get("commands") or [])
        return _ok(True)

    def _on_getmycommands(self, params: dict[str, Any]) -> web.Response:
        return _ok(self.commands.get(params.get("language_code", ""), []))

    def _on_deletemycommands(self, params: dict[str, Any]) -> web.Response:
        self.commands.pop(params.get("language_code", ""), None)
        return _ok(True)

    def _on_answercallbackquery(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    def _on_sendmessage(self, params: dict[str, Any]) -> web.Response:
        return _ok(self._store(params, text=params.get("text", "")))

    def _on_sendphoto(self, params: dict[str, Any]) -> web.Response:
        photo = [{"file_id": f"photo-{next(self._message_ids)}", "file_unique_id": "u1", "width": 640,
                  "height": 480, "file_size": 1234}]
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return _ok(self._store(params, photo=photo, **extra))

    def _on_editmessagetext(self, params: dict[str, Any]) -> web.Response:
        return self._edit(params, "text")

    def _on_editmessagereplymarkup(self, params: dict[str, Any]) -> web.Response:
        return self._edit(params, "reply_markup")

    # -- messages and chats ----------------------------------------------------------------
    def chat(self, chat_id: int | str) -> dict[str, Any]:
        """The chat object for an id: known from an injected update, else made up
        (positive: private; -100…: supergroup; other negative: group)."""
        cid = int(chat_id)
        if cid not in self.chats:
            if cid > 0:
                self.chats[cid] = {"id": cid, "type": "private", "first_name": "User"}
            else:
                kind = "supergroup" if str(cid).startswith("-100") else "group"
                self.chats[cid] = {"id": cid, "type": kind, "title": "Group"}
        return self.chats[cid]

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = self.chat(params["chat_id"])
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                               "from": self.bot_user, **content}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:  # other keyboards are not echoed
            msg["reply_markup"] = markup
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def _edit(self, params: dict[str, Any], field: str) -> web.Response:
        if "inline_message_id" in params:
            return _ok(True)
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        msg = self.messages.get(key)
        if msg is None:
            return _error(400, "Bad Request: message to edit not found")
        new = dict(msg)
        if field == "text":
            new["text"] = params.get("text", "")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        if new == msg:
            return _error(400, NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return _ok(new)

    # -- updates -------------------------------------------------------------------------
    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return _error(409, WEBHOOK_CONFLICT)
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 100))
        wait = min(float(params.get("timeout", 0)), self.max_poll_wait)
        async with self._updates:
            if offset > 0:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            if not self.pending and wait > 0 and not self._closing:
                try:
                    async with asyncio.timeout(wait):
                        await self._updates.wait_for(lambda: bool(self.pending) or self._closing)
                except TimeoutError:
                    pass
            return _ok(self.pending[:limit])

    async def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (an `update_id` is assigned) and wake long polls."""
        update = {"update_id": next(self._update_ids), **update}
        async with self._updates:
            self.pending.append(update)
            self._updates.notify_all()
        return update

    @staticmethod
    def user_obj(user_id: int, language_code: str | None = "en", first_name: str = "Ana") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:  # optional in the Bot API
            user["language_code"] = language_code
        return user

    async def inject_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, language_code: str | None = "en",
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A text message from a user; "/cmd args" gets its `bot_command` entity. The user id
        defaults to the chat id (a private chat); pass `chat` for a group's chat object."""
        user = self.user_obj(user_id if user_id is not None else abs(chat_id), language_code)
        if chat is not None:
            self.chats[chat_id] = chat
        elif chat_id > 0:
            self.chats[chat_id] = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": self.chat(chat_id), "from": user, "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.messages[(chat_id, message["message_id"])] = message
        return await self.inject_update({"message": message})

    inject_command = inject_message

    async def inject_callback_query(
        self, chat_id: int, data: str, *, message_id: int | None = None, user_id: int | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """An inline-button press on a bot message (default: the newest one with a keyboard
        in that chat)."""
        if message_id is None:
            keyboards = [mid for (cid, mid), m in self.messages.items()
                         if cid == chat_id and "reply_markup" in m]
            message_id = keyboards[-1] if keyboards else None
        message = self.messages.get((chat_id, message_id or 0)) or {
            "message_id": message_id or 1, "date": int(time.time()), "chat": self.chat(chat_id),
            "from": self.bot_user, "text": ""}
        sender = self.user_obj(user_id if user_id is not None else abs(chat_id), language_code)
        query = {"id": str(next(self._callback_ids)), "chat_instance": f"ci{chat_id}", "from": sender,
                 "message": message, "data": data}
        return await self.inject_update({"callback_query": query})

    async def before_stop(self) -> None:
        async with self._updates:
            self._closing = True
            self._updates.notify_all()
