"""The monitors-as-code file: its shape, read from YAML with every problem located.

The shape only: what a monitor's config may hold, its interval, its name and which tier
allows what are the service's rules (core/service/), applied to the file's entries by
core/config_file/apply.py exactly as to a chat command or an API body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from lighthouse.core.config_file.yamlsafe import YAML_MAX_BYTES, Located, Path, YamlProblem, load_yaml
from lighthouse.core.i18n import DEFAULT as DEFAULT_LANGUAGE
from lighthouse.core.i18n import Message
from lighthouse.core.i18n import message as _
from lighthouse.core.service.status_pages import SLUG
from lighthouse.core.tiers import TierName
from lighthouse.core.validation_text import MessageError, pydantic_message
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)
from pydantic import ValidationError as PydanticValidationError

MAX_PROBLEMS = 20  # a file broken everywhere is reported by its first 20 problems
MAX_KEY = 100

_DURATION = re.compile(r"^\s*(\d{1,7})\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BAD_DURATION = _("expected seconds (60) or a duration such as 30s, 5m, 1h, 1d")


def _seconds(value: Any) -> Any:
    """60, "60", "30s", "5m", "1h", "1d" -> seconds (a bare number is seconds, unlike chat,
    where people type minutes)."""
    if isinstance(value, bool):
        raise MessageError(_BAD_DURATION)
    if isinstance(value, int):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise MessageError(_BAD_DURATION)
    return int(match.group(1)) * _UNIT[match.group(2) or "s"]


Seconds = Annotated[int, BeforeValidator(_seconds)]
Text = Annotated[StrictStr, Field(min_length=1)]
Key = Annotated[StrictStr, Field(min_length=1, max_length=MAX_KEY)]


class _Model(BaseModel):
    # Unknown keys are refused: a misspelt `intervall:` must not silently mean the default.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Defaults(_Model):
    """Values for every monitor that does not set its own."""

    interval: Seconds | None = None
    failure_threshold: StrictInt | None = None
    success_threshold: StrictInt | None = None
    language: StrictStr | None = None


class MonitorEntry(_Model):
    # The stable identity of the entry: ``id`` when given, else ``name``. With an ``id``,
    # a new name renames the monitor in place (its history stays).
    id: Key | None = None
    name: Text
    type: StrictStr = "http"
    interval: Seconds | None = None
    failure_threshold: StrictInt | None = None
    success_threshold: StrictInt | None = None
    language: StrictStr | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id if self.id is not None else self.name


class ChannelEntry(_Model):
    kind: StrictStr
    config: dict[str, Any] = Field(default_factory=dict)
    # One monitor's alerts only (its id or name in this file); unset: all of them.
    monitor: Key | None = None
    min_severity: StrictStr = "info"
    language: StrictStr | None = None


class WindowEntry(_Model):
    monitors: list[Key] = Field(min_length=1)
    from_: AwareDatetime = Field(alias="from")
    until: AwareDatetime


class StatusPageEntry(_Model):
    # A file names its pages: a random slug would be a new page at every apply.
    slug: Key
    title: StrictStr | None = None
    # Monitors of this file by id or name; empty: every monitor of the operator.
    monitors: list[Key] = Field(default_factory=list)


class ConfigFile(_Model):
    version: Literal[1] = 1
    # The operator's tier on this instance; unset: enterprise (no monitor limit, 30 s).
    tier: TierName | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    monitors: list[MonitorEntry] = Field(default_factory=list)
    channels: list[ChannelEntry] = Field(default_factory=list)
    maintenance: list[WindowEntry] = Field(default_factory=list)
    status_pages: list[StatusPageEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    line: int | None
    where: str  # monitors[2].config.url
    message: Message  # in the reader's language: ``message.render(lang)``

    def render(self, source: str, lang: str = DEFAULT_LANGUAGE) -> str:
        place = f"{source}:{self.line}" if self.line else source
        text = self.message.render(lang)
        return f"{place}: {self.where}: {text}" if self.where else f"{place}: {text}"


class ConfigFileError(Exception):
    """The file is refused as a whole; ``problems`` say where and what is expected."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems[:MAX_PROBLEMS]
        super().__init__(self.render(DEFAULT_LANGUAGE))

    def render(self, lang: str) -> str:
        """One line per problem, ``file:line: where: what``, the what in ``lang``."""
        return "\n".join(p.render(self.source, lang) for p in self.problems)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(path: Iterable[str | int]) -> str:
    """("monitors", 2, "config", "url") -> monitors[2].config.url; a key that is not a
    plain word is quoted (monitors[0]['a\\nb']), so a problem stays on one line."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            out += f"[{str(part)!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Document:
    """A parsed file: its entries and where each value was written."""

    source: str
    config: ConfigFile
    located: Located

    def problem(self, path: Path, message: Message) -> Problem:
        return Problem(self.located.line_of(path), dotted(path), message)


def read_file(path: FilePath, env: Mapping[str, str] | None = None) -> Document:
    """Read and parse the file at ``path``; ``ConfigFileError`` for any problem in it."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(YAML_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigFileError(source, [Problem(None, "", _("cannot read the file: {reason}",
                                                           reason=exc.strerror))]) from None
    return parse_text(raw, source, env)


def parse_text(raw: str | bytes, source: str, env: Mapping[str, str] | None = None) -> Document:
    try:
        located = load_yaml(raw, env)
    except YamlProblem as exc:
        raise ConfigFileError(source, [Problem(exc.line, "", exc.said)]) from None
    if not isinstance(located.value, dict):
        raise ConfigFileError(source, [Problem(
            located.line_of(()) or 1, "",
            _("expected a mapping with monitors:, channels:, maintenance:, status_pages:, tier:, "
              "defaults:"))])
    try:
        config = ConfigFile.model_validate(located.value)
    except PydanticValidationError as exc:
        raise ConfigFileError(source, _problems(exc, located)) from None
    doc = Document(source, config, located)
    problems = _cross_checks(doc)
    if problems:
        raise ConfigFileError(source, problems)
    return doc


def _problems(exc: PydanticValidationError, located: Located) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]:
        path: Path = tuple(err["loc"])
        message = pydantic_message(err)
        if err["type"] == "extra_forbidden":
            model = _model_at(path[:-1])
            known = ", ".join(f.alias or name for name, f in model.model_fields.items())
            message = _("unknown key {key} (expected one of: {known})", key=repr(path[-1]),
                        known=known)
        elif err["type"] == "literal_error" and path == ("version",):
            message = _("this Lighthouse reads version 1")
        elif err["type"] == "enum" and path == ("tier",):
            message = _("expected one of: {known}", known=", ".join(t.value for t in TierName))
        out.append(Problem(located.line_of(path), dotted(path), message))
    return out


def _model_at(path: Path) -> type[BaseModel]:
    """The file model that a (pydantic error) path ends in, for its list of keys."""
    models: dict[str, type[BaseModel]] = {"defaults": Defaults, "monitors": MonitorEntry,
                                          "channels": ChannelEntry, "maintenance": WindowEntry,
                                          "status_pages": StatusPageEntry}
    return models.get(str(path[0]), ConfigFile) if path else ConfigFile


def _cross_checks(doc: Document) -> list[Problem]:
    """What no single entry shows: keys and names used twice, references to no monitor."""
    c = doc.config
    problems: list[Problem] = []
    keys: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, m in enumerate(c.monitors):
        # The service finds monitors by name without regard to case; so must the file.
        name, key = m.name.strip().lower(), m.key.lower()
        twin, field = (names.get(name), "name") if name in names else (keys.get(key), "id")
        if twin is not None:
            problems.append(doc.problem(
                ("monitors", i, field if m.id is not None else "name"),
                _("{value} is used by {other} too (line {line}); ids and names must be unique",
                  value=repr(name if field == "name" else key), other=f"monitors[{twin}]",
                  line=doc.located.line_of(("monitors", twin)))))
        names.setdefault(name, i)
        keys.setdefault(key, i)
    refs = {m.key.lower() for m in c.monitors} | {m.name.strip().lower() for m in c.monitors}
    for i, ch in enumerate(c.channels):
        if ch.monitor is not None and ch.monitor.lower() not in refs:
            problems.append(doc.problem(("channels", i, "monitor"),
                                        _("no monitor {ref} in this file", ref=repr(ch.monitor))))
    for i, w in enumerate(c.maintenance):
        for j, ref in enumerate(w.monitors):
            if ref.lower() not in refs:
                problems.append(doc.problem(("maintenance", i, "monitors", j),
                                            _("no monitor {ref} in this file", ref=repr(ref))))
        if w.until <= w.from_:
            problems.append(doc.problem(("maintenance", i, "until"), _("must be after from")))
    slugs: dict[str, int] = {}
    for i, page in enumerate(c.status_pages):
        if not SLUG.fullmatch(page.slug):
            problems.append(doc.problem(("status_pages", i, "slug"),
                                        _("expected 3-48 lowercase letters, digits or dashes")))
        elif page.slug in slugs:
            problems.append(doc.problem(("status_pages", i, "slug"),
                                        _("{value} is used by {other} too", value=repr(page.slug),
                                          other=f"status_pages[{slugs[page.slug]}]")))
        slugs.setdefault(page.slug, i)
        for j, ref in enumerate(page.monitors):
            if ref.lower() not in refs:
                problems.append(doc.problem(("status_pages", i, "monitors", j),
                                            _("no monitor {ref} in this file", ref=repr(ref))))
    return problems

