"""Canary flow configs: the steps, what each expects and extracts, and the references
between them (``${NAME}``, ``[STEPn]``), all checked when a monitor is created. The format
and how a flow runs are described in core/checks/canary.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from lighthouse.core.checks.base import CheckConfig
from lighthouse.core.checks.conditions import Condition, cached_condition
from lighthouse.core.checks.jsonrpc import validate_headers
from lighthouse.core.errors import InvalidURLError, ValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_STEPS = 20
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STEP_REF = re.compile(r"\[STEP(\d+)\]((?:\.[A-Za-z0-9_$-]+|\[\d+\])*)")
_PATH_PART = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
CANARY_PLACEHOLDERS = frozenset(
    {"STATUS", "RESPONSE_TIME", "BODY", "HEADER", "RESULT", "RESULT_INT"}
    | {f"STEP{n}" for n in range(1, MAX_STEPS + 1)}
)


def canary_condition(text: str) -> Condition:
    return cached_condition(text, CANARY_PLACEHOLDERS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepExpect(_Strict):
    status: int | list[int] | None = None
    body_contains: str | None = Field(default=None, max_length=1000)
    conditions: list[str] = Field(default_factory=list, max_length=30)

    @field_validator("status")
    @classmethod
    def _status(cls, value: int | list[int] | None) -> int | list[int] | None:
        codes = [value] if isinstance(value, int) else value or []
        if any(not 100 <= c <= 599 for c in codes):
            raise ValueError("status codes must be between 100 and 599")
        return value

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            canary_condition(text)
        return value


def _expect(value: Any) -> Any:
    return {"conditions": value} if isinstance(value, list) else value


def parse_path(path: str) -> tuple[str | int, ...]:
    """``$.a.b[0]`` (or ``a.b[0]``) -> ("a", "b", 0); ValueError when malformed."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = "." + text
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _PATH_PART.match(text, pos)
        if m is None:
            raise ValueError(f"bad path {path!r} at {pos}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return tuple(parts)


class _Step(_Strict):
    name: str | None = Field(default=None, max_length=100)
    step: int | None = None  # the plan's step number; order is the list's order


class _RequestStep(_Step):
    url: str = Field(max_length=2048)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    expect: Annotated[StepExpect, Field(default_factory=StepExpect)]
    extract: dict[str, str] = Field(default_factory=dict, max_length=20)

    @field_validator("expect", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _expect(value)

    @field_validator("extract")
    @classmethod
    def _extract(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not _NAME.match(name):
                raise ValueError(f"extract name {name!r} must be letters, digits and _")
            parse_path(path)
        return value


class HttpStep(_RequestStep):
    action: Literal["http"] = "http"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, max_length=30)
    body: str | dict[str, Any] | list[Any] | None = None
    follow_redirects: bool = True

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)


class RpcStep(_RequestStep):
    action: Literal["rpc"]
    method: str = Field(min_length=1, max_length=100)
    params: list[Any] = Field(default_factory=list, max_length=20)
    headers: dict[str, str] = Field(default_factory=dict, max_length=30)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)


class WaitStep(_Step):
    action: Literal["wait"]
    seconds: float = Field(ge=0, le=60)


Step = Annotated[HttpStep | RpcStep | WaitStep, Field(discriminator="action")]


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _step_strings(step: HttpStep | RpcStep) -> list[str]:
    out = [step.url, *_strings(step.headers)]
    if isinstance(step, HttpStep):
        out += _strings(step.body)
    else:
        out += _strings(step.params)
    return out


class CanaryConfig(CheckConfig):
    name: str | None = Field(default=None, max_length=100)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    timeout_s: float = Field(default=60.0, gt=0, le=300)
    variables: dict[str, str] = Field(default_factory=dict, max_length=30)

    @field_validator("steps", mode="before")
    @classmethod
    def _plan_actions(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for raw in value:
            if isinstance(raw, dict):
                action = raw.get("action", "http")
                if isinstance(action, str) and action.upper() in _HTTP_METHODS:
                    raw = {**raw, "action": "http", "method": action.upper()}
                elif "action" not in raw:
                    raw = {**raw, "action": "http"}
            out.append(raw)
        return out

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"variable name {name!r} must be letters, digits and _")
        return value

    @model_validator(mode="after")
    def _references(self) -> CanaryConfig:
        known = set(self.variables)
        for index, step in enumerate(self.steps, start=1):
            if isinstance(step, WaitStep):
                continue
            for text in _step_strings(step):
                for name in _VAR.findall(text):
                    if name not in known:
                        raise ValidationError(
                            f"step {index}: ${{{name}}} is not extracted by an earlier step",
                            field=f"steps.{index - 1}", reason="unknown_variable", name=name,
                        )
                for ref, _path in _STEP_REF.findall(text):
                    if not 1 <= int(ref) < index:
                        raise ValidationError(
                            f"step {index}: [STEP{ref}] is not an earlier step",
                            field=f"steps.{index - 1}", reason="bad_step_reference",
                        )
            url = _VAR.sub("x", _STEP_REF.sub("x", step.url))
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidURLError(f"step {index}: URL must be http(s)://host/...",
                                      field=f"steps.{index - 1}.url", reason="scheme")
            if isinstance(step, HttpStep) and step.body is not None and step.method in ("GET", "HEAD"):
                raise ValidationError(f"step {index}: a body cannot be sent with {step.method}",
                                      field=f"steps.{index - 1}.body", reason="body_method")
            known |= set(step.extract)
        return self
