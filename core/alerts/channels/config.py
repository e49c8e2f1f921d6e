"""The config contract of alert channels: a base model, shared field types, and how the
delivery path reads a stored config.

A config is validated twice in its life: when someone creates the channel
(``parse_channel_config`` in this package, strict, typed errors) and when an alert is
delivered (``read_config``, once per delivery, failures become a disabled channel).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, ClassVar, TypeVar

from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.urls import url_problem
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

MAX_URL_LENGTH = 2048  # the same bound as a monitor's URL, so chat can show one message
MAX_SECRET_LENGTH = 256

# JSON Schema's own words for "the server writes this" and "the client only writes this";
# OpenAPI tooling understands both, and parse_channel_config enforces the first.
READ_ONLY: dict[str, Any] = {"readOnly": True}
_URL_SCHEMA: dict[str, Any] = {"format": "uri"}


class ChannelConfig(BaseModel):
    """Base of every channel's config model.

    Strict so that a stored config means exactly what it says (no "5" for 5, no 1 for
    True); extra keys are refused so a typo is an error at creation, not a silent default.
    Fields Lighthouse writes itself carry ``json_schema_extra=READ_ONLY``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Chat kinds address a person or chat by ids that only the chat adapter can vouch
    # for; accepting them from an API body would let anyone make the bot message anyone.
    chat_only: ClassVar[bool] = False
    # The config field naming the chat (or person) a message lands in, for chat kinds:
    # the delivery worker sends one chat's alerts one at a time, in the order raised.
    chat_field: ClassVar[str | None] = None

    @classmethod
    def example(cls) -> dict[str, Any]:
        """A valid raw config, for docs and the registry's conformance test."""
        raise NotImplementedError(f"{cls.__name__} declares no example()")

    @classmethod
    def read_only_fields(cls) -> frozenset[str]:
        return _fields_where(cls, "readOnly", True)

    @classmethod
    def url_fields(cls) -> frozenset[str]:
        return _fields_where(cls, "format", "uri")

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return _fields_where(cls, "writeOnly", True)

    def stored(self) -> dict[str, Any]:
        """The JSON to keep in ``alert_channels.config``.

        Secrets are revealed here and nowhere else (``model_dump`` masks them, which is what
        an API listing wants, but a masked signing secret would be useless once stored).
        Unset and null fields are left out so a config keeps the shape its creator gave it
        (channels are deduplicated by config equality).
        """
        data = self.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        for name in data:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                data[name] = value.get_secret_value()
        return data


@functools.cache
def _properties(model: type[ChannelConfig]) -> dict[str, Any]:
    props: dict[str, Any] = model.model_json_schema().get("properties", {})
    return props


def _fields_where(model: type[ChannelConfig], key: str, value: object) -> frozenset[str]:
    """Fields whose JSON Schema (or one branch of an optional) has ``key: value``: the
    schema is where Annotated types and Field() both end up, whatever the nesting."""

    def has(prop: dict[str, Any]) -> bool:
        return prop.get(key) == value or any(has(p) for p in prop.get("anyOf", []))

    return frozenset(name for name, prop in _properties(model).items() if has(prop))


def _url_error(value: str) -> str | None:
    """The invalid_url reason for ``value`` (the codes chat already localizes), or None.
    Stored as given, so surrounding spaces are refused rather than stripped."""
    if value != value.strip():
        return "malformed"
    return url_problem(value, ("http", "https"))


def _http_url(value: str) -> str:
    reason = _url_error(value)
    if reason is not None:
        raise PydanticCustomError(f"url_{reason}", "not a valid http(s) URL ({reason})",
                                  {"reason": reason})
    return value


def _secret_http_url(value: SecretStr) -> SecretStr:
    _http_url(value.get_secret_value())
    return value


HttpURL = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URL_LENGTH, json_schema_extra=_URL_SCHEMA),
    AfterValidator(_http_url),
]
# A URL that is itself the credential (a Discord webhook URL carries its token).
SecretHttpURL = Annotated[
    SecretStr,
    Field(min_length=1, max_length=MAX_URL_LENGTH,
          json_schema_extra={**_URL_SCHEMA, "writeOnly": True}),
    AfterValidator(_secret_http_url),
]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_LENGTH)]
# Discord ids are 64-bit; kept as strings because JSON readers lose precision above 2**53.
Snowflake = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,19}$")]


ConfigT = TypeVar("ConfigT", bound=ChannelConfig)


def read_config(model: type[ConfigT], delivery: Delivery) -> ConfigT | DeliveryResult:
    """The delivery's stored config through its model, or the failure to record.

    Keys the model does not know are dropped rather than refused: during a rolling
    upgrade a newer process may have stored a flag this one has never heard of, and
    disabling the channel for that would lose alerts.
    """
    raw: object = delivery.channel_config
    if not isinstance(raw, dict):
        return DeliveryResult(Outcome.PERMANENT, "invalid_config: config: not_object",
                              disable_channel=True)
    known = model.model_fields
    try:
        return model.model_validate({k: v for k, v in raw.items() if k in known})
    except PydanticValidationError as exc:
        # Field and reason only: pydantic's own text quotes the input, which may be a secret.
        where, reason, _ctx = first_error(exc)
        return DeliveryResult(Outcome.PERMANENT, f"invalid_config: {where}: {reason}",
                              disable_channel=True)


def first_error(exc: PydanticValidationError) -> tuple[str, str, dict[str, Any]]:
    """(field, stable reason, context) of the first error, never the input itself.

    A check across fields (``model_validator``) has no location; it names its field in
    the error context instead.
    """
    err = exc.errors(include_url=False, include_input=False)[0]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    where = ".".join(str(p) for p in err["loc"]) or str(ctx.pop("field", "")) or "config"
    return where, err["type"], ctx
