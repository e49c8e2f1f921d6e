"""One JSON error shape for the API: {"error": {"code", "message", "params"}}."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from lighthouse.core.errors import LighthouseError
from lighthouse.core.storage.database import DATA_ERRORS

log = logging.getLogger(__name__)

# Headers an aiohttp HTTPException carries that the client needs to act on the error:
# RFC 9110 requires Allow on a 405.
_KEPT_HEADERS = ("Allow", "Retry-After")


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   **params: Any) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "params": params}}, status=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: typed errors and aiohttp's 4xx as JSON; anything else a 500 without details."""
    try:
        return await handler(request)
    except LighthouseError as exc:
        return web.json_response({"error": exc.to_dict()}, status=exc.http_status)
    except web.HTTPException as exc:
        if exc.status >= 400 and not request.path.startswith("/health"):
            kept = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason,
                                  headers=kept)
        raise
    except DATA_ERRORS as exc:
        # PostgreSQL (or asyncpg encoding an argument) refused a value: out of range, NUL in
        # text, a malformed literal. Handlers validate what they know of; whatever slips
        # through came from the request, so it is the client's error, not an outage.
        log.warning("database refused a request value", extra={"path": request.path,
                                                               "error": str(exc)[:200]})
        return error_response(400, "invalid_input", "a value in the request is out of range or malformed")
    except Exception:
        log.exception("unhandled API error", extra={"path": request.path})
        return error_response(500, "internal_error", "internal error")
