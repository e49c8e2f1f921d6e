"""Errors a user can cause, each with a stable code.

Adapters never show these as stack traces: chat maps ``code`` to a localized
message (with ``params`` as its placeholders), the API to a JSON error body with
the same code and ``http_status``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from lighthouse.core.i18n import Message


class LighthouseError(Exception):
    """Base of every user-caused error. ``code`` is stable API surface."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    # The error in any language where the service has no sentence of its own for it (a
    # check config refused by pydantic, core/validation_text.py); None: see ``code``.
    said: Message | None = None

    def __init__(self, message: str = "", /, **params: Any) -> None:
        self.params: dict[str, Any] = params
        super().__init__(message or self.code)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "params": self.params}


class ValidationError(LighthouseError):
    """Input that does not fit a model: ``params['field']`` names the field."""

    code = "invalid_input"


class InvalidURLError(ValidationError):
    code = "invalid_url"


class InvalidConditionError(ValidationError):
    """A malformed condition; ``params['position']`` is the 0-based offset of the error."""

    code = "invalid_condition"


class UnknownCheckTypeError(ValidationError):
    code = "unknown_check_type"


class UnknownChannelKindError(ValidationError):
    """``params['kind']`` is not a registered alert channel; ``params['known']`` lists them."""

    code = "unknown_channel_kind"


class InvalidIntervalError(ValidationError):
    code = "invalid_interval"


class TargetNotAllowedError(LighthouseError):
    """The target resolves to loopback/private/link-local/multicast/unspecified space."""

    code = "target_not_allowed"
    http_status = 422


class MonitorLimitReachedError(LighthouseError):
    code = "monitor_limit_reached"
    http_status = 403


class TierFeatureError(LighthouseError):
    """The owner's tier does not include this feature (``params['feature']``)."""

    code = "tier_feature_unavailable"
    http_status = 403


class UnauthorizedError(LighthouseError):
    """A request that needs a credential (an API management token) came without one."""

    code = "unauthorized"
    http_status = 401


class MonitorNotFoundError(LighthouseError):
    code = "monitor_not_found"
    http_status = 404


class AmbiguousMonitorError(LighthouseError):
    """A name prefix that starts several of the caller's monitors (``params['candidates']``
    lists their names, ``params['ref']`` what was typed)."""

    code = "monitor_ambiguous"
    http_status = 409


class ChannelNotFoundError(LighthouseError):
    """No alert channel with this id among the caller's (``params['channel_id']``)."""

    code = "channel_not_found"
    http_status = 404


class NotAdminError(LighthouseError):
    """Changing someone's plan needs the operator or an admin named in LIGHTHOUSE_ADMINS."""

    code = "not_admin"
    http_status = 403


class InvalidStateError(LighthouseError):
    """E.g. resuming a monitor that is not paused."""

    code = "invalid_state"
    http_status = 409


class ConfigurationError(Exception):
    """Bad operator configuration: stops start-up with one line naming the variable."""


class PortInUseError(ConfigurationError):
    """A port the service must listen on is taken: ``setting`` names the variable to change."""

    def __init__(self, setting: str, host: str, port: int) -> None:
        self.setting, self.host, self.port = setting, host, port
        super().__init__(f"{setting}={port} is already in use on {host}: another Lighthouse or "
                         f"another program listens there; stop it or set {setting} to a free port")


class StatusPageNotFoundError(LighthouseError):
    """No status page with this slug (among the caller's, when one asks)."""

    code = "status_page_not_found"
    http_status = 404


class SlugTakenError(LighthouseError):
    """Another status page already has this slug (``params['slug']``)."""

    code = "slug_taken"
    http_status = 409
