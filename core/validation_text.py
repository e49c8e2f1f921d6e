"""pydantic's validation errors as catalog messages: the one mapping from an error's ``type``
and ``ctx`` to a sentence the reader gets in their language (``Message.render(lang)``).

pydantic's own ``msg`` is English only; a refused lighthouse.yaml (core/config_file/)
shows these instead. A validator that refuses a value with a sentence of its own raises
``MessageError`` with that sentence (a plain ValueError's English sentence is kept as it
is); any type not listed here is named by its code.
"""

from __future__ import annotations

import re
from typing import Any

from lighthouse.core.i18n import Message, verbatim
from lighthouse.core.i18n import message as _
from pydantic_core import ErrorDetails

__all__ = ["MessageError", "pydantic_message"]


class MessageError(ValueError):
    """Raised by a validator: the value is refused, and ``said`` says why in any language."""

    def __init__(self, said: Message) -> None:
        super().__init__(str(said))
        self.said = said


_CHOICES = re.compile(r", | or ")
_WHOLE_NUMBER = ("int_type", "int_parsing", "int_from_float", "int_parsing_size")
_NUMBER = ("float_type", "float_parsing", "decimal_type", "decimal_parsing")
_DATETIME = ("datetime_type", "datetime_parsing", "datetime_from_date_parsing",
             "datetime_object_invalid")


def pydantic_message(err: ErrorDetails) -> Message:
    """The sentence for one entry of ``ValidationError.errors()``."""
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    inner = ctx.get("error")
    if isinstance(inner, MessageError):
        return inner.said
    if kind in ("value_error", "assertion_error"):
        # A validator's own sentence, written in English: its words beat a vague translation.
        return verbatim(err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, "))
    if kind == "missing":
        return _("required")
    if kind == "extra_forbidden":
        return _("unknown key")
    if kind == "string_type":
        return _("expected text")
    if kind in _WHOLE_NUMBER:
        return _("expected a whole number")
    if kind in _NUMBER:
        return _("expected a number")
    if kind in ("bool_type", "bool_parsing"):
        return _("expected true or false")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("expected a mapping (key: value)")
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("expected a list")
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("must not be empty")
        return _("expected at least {min} characters", min=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("expected at most {max} characters", max=ctx.get("max_length"))
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return _("must not be empty")
        return _("expected at least {min} items", min=ctx.get("min_length"))
    if kind == "too_long":
        return _("expected at most {max} items", max=ctx.get("max_length"))
    if kind in ("literal_error", "enum"):
        # ctx holds pydantic's English list ("'a', 'b' or 'c'"): its items, said here.
        choices = _CHOICES.split(str(ctx.get("expected", "")))
        if len(choices) > 1:
            return _("expected one of: {known}", known=", ".join(choices))
        return _("expected {expected}", expected=choices[0])
    if kind == "greater_than":
        return _("expected a number above {limit}", limit=ctx.get("gt"))
    if kind == "greater_than_equal":
        return _("expected {limit} or more", limit=ctx.get("ge"))
    if kind == "less_than":
        return _("expected a number below {limit}", limit=ctx.get("lt"))
    if kind == "less_than_equal":
        return _("expected {limit} or less", limit=ctx.get("le"))
    if kind == "timezone_aware":
        return _("needs a time zone, e.g. 2030-01-01T02:00:00Z")
    if kind in _DATETIME:
        return _("expected a date and time such as 2030-01-01T02:00:00Z")
    if kind.startswith("url_"):
        return _("expected a URL such as https://example.com/health")
    if kind == "string_pattern_mismatch":
        return _("does not have the expected form ({pattern})", pattern=ctx.get("pattern"))
    return _("not a valid value ({code})", code=kind)

