"""YAML from the operator's file, read as data only and within bounds, with line numbers.

What ``yaml.safe_load`` would return (YAML 1.1 scalars: ints, floats, booleans, null,
timestamps), built here from the parser's event stream instead of its composer:

* **Bounded.** The text is refused above ``YAML_MAX_BYTES``, nesting deeper than
  ``YAML_MAX_DEPTH`` (the JSON bound of core/jsonsafe.py: what is read here becomes
  monitor configs that are later dumped and parsed as JSON), and more than
  ``YAML_MAX_NODES`` values counting every alias at its full size, so a few lines of
  nested aliases (the "billion laughs") are refused instead of expanded.
  An alias to a node that is not finished yet (a recursive structure) is refused too.
  Building from events needs no recursion, so no input can exhaust the stack here;
  the C composer would recurse once per level.
* **Located.** Every value's line is kept, and found by its path (``("monitors", 2, "config",
  "url")``), so an error found later, by a model or by the service, names the line.
* **Data only.** Only the standard scalar tags; ``!!python/...``, ``!!binary``,
  ``!!set``, ``!!omap`` and custom tags are refused. Keys are text and unique (PyYAML
  keeps the last of two equal keys silently: here that is an error naming both lines).
  Merge keys (``<<: *defaults``) are honoured: keys written in the mapping win.
* **Environment.** ``${NAME}`` in a value is replaced by that environment variable (an
  unset one is an error naming it); ``$${`` stands for a literal ``${`` (a canary
  variable). A plain scalar that was exactly a reference is read again as YAML, so
  ``port: ${PORT}`` is a number; quoted values stay text. Keys are never expanded, and
  the variable's text cannot add structure: it is substituted after parsing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml
from lighthouse.core.i18n import Message
from lighthouse.core.i18n import message as _
from lighthouse.core.jsonsafe import JSON_MAX_DEPTH
from yaml import events as ev

__all__ = [
    "YAML_MAX_BYTES",
    "YAML_MAX_DEPTH",
    "YAML_MAX_NODES",
    "Located",
    "Path",
    "YamlProblem",
    "load_yaml",
]

YAML_MAX_BYTES: Final = 16 * 1024 * 1024  # ~100,000 monitors; more is not a config file
YAML_MAX_DEPTH: Final = JSON_MAX_DEPTH
YAML_MAX_NODES: Final = 2_000_000  # values after alias expansion

Path = tuple[str | int, ...]

# The C parser when PyYAML was built with libyaml (about 6x faster on large files).
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP_TAG, _SEQ_TAG = _TAG + "map", _TAG + "seq"
_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class YamlProblem(ValueError):
    """The text is not YAML this reader accepts; ``line`` is 1-based (None: whole file)."""

    def __init__(self, said: Message, line: int | None) -> None:
        super().__init__(str(said))
        self.said = said  # in the reader's language: ``said.render(lang)``
        self.message = str(said)  # English
        self.line = line


# Where each value was written, in the shape of the document: a scalar's line, or
# (line, children) for a mapping (children by key) or a list (children by index). Kept
# beside the data rather than as a path per value: building a tuple for each of 100,000
# values was a third of the time of reading a large file.
LineTree = int | tuple[int, dict[str, Any] | list[Any]]


@dataclass
class Located:
    """The document's value, and where each of its values was written."""

    value: Any
    tree: LineTree = 1

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (a missing key is
        reported at its mapping; a value inside an alias at the alias)."""
        node = self.tree
        for part in path:
            if isinstance(node, int):
                break
            children = node[1]
            child = None
            if isinstance(children, dict) and isinstance(part, str):
                child = children.get(part)
            elif isinstance(children, list) and isinstance(part, int) and 0 <= part < len(children):
                child = children[part]
            if child is None:
                break
            node = child
        return node if isinstance(node, int) else node[0]


class _Frame:
    """A mapping or list being read."""

    __slots__ = ("anchor", "height", "is_map", "items", "key", "key_line", "line", "lines",
                 "merge", "merges", "size")

    def __init__(self, line: int, anchor: str | None, is_map: bool) -> None:
        self.line, self.anchor, self.is_map = line, anchor, is_map
        self.items: Any = {} if is_map else []
        self.lines: Any = {} if is_map else []
        self.key: str | None = None  # a mapping's key waiting for its value
        self.key_line = 0
        self.merge = False  # that key is the merge key (a plain <<)
        self.merges: list[tuple[Any, int]] = []
        self.size = 1
        self.height = 1

    def finish(self) -> Any:
        if not self.is_map or not self.merges:
            return self.items
        out: dict[str, Any] = self.items
        for merged, line in self.merges:  # keys written in the mapping win
            for source in merged if isinstance(merged, list) else [merged]:
                if not isinstance(source, dict):
                    raise YamlProblem(_("<< merges a mapping or a list of mappings"), line)
                for key, value in source.items():
                    out.setdefault(key, value)
        return out


def load_yaml(text: str | bytes, env: Mapping[str, str] | None = None) -> Located:
    """Parse one YAML document into plain data with its lines; raise ``YamlProblem``."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > YAML_MAX_BYTES:
        raise YamlProblem(_("the file is larger than {size} MiB",
                            size=YAML_MAX_BYTES // (1024 * 1024)), None)
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise YamlProblem(_("not UTF-8 text"), line) from None
    return _Builder(os.environ if env is None else env).build(source)


class _Builder:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # value, size, height
        self.loader: Any = None

    def build(self, source: str) -> Located:
        self.loader = _LOADER(source)
        try:
            return self._read()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            raise YamlProblem(_("not valid YAML: {detail}", detail=what),
                              mark.line + 1 if mark else None) from None
        except yaml.reader.ReaderError as exc:  # a character YAML forbids: say where, in one line
            line = source[:exc.position].count("\n") + 1 if isinstance(source, str) else None
            what = f"unacceptable character #x{exc.character:04x}: {exc.reason}" if isinstance(
                exc.character, int) else exc.reason
            raise YamlProblem(_("not valid YAML: {detail}", detail=what), line) from None
        except yaml.YAMLError as exc:
            raise YamlProblem(_("not valid YAML: {detail}", detail=str(exc).splitlines()[0]),
                              None) from None
        finally:
            self.loader.dispose()

    def _read(self) -> Located:
        """One pass over the parser's events, one loop: this is the hot path of a large file."""
        loader = self.loader
        check, get = loader.check_event, loader.get_event
        # Plain scalars starting with another character are text: no resolver to ask.
        typed_starts = frozenset(k for k in loader.yaml_implicit_resolvers if k)
        scalar_kind, alias_kind = ev.ScalarEvent, ev.AliasEvent
        starts = (ev.MappingStartEvent, ev.SequenceStartEvent)
        ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
        stack: list[_Frame] = []
        top: _Frame | None = None
        nodes = documents = 0
        document: Any = None
        tree: LineTree = 1
        while check():
            event = get()
            kind = type(event)
            if kind is scalar_kind:
                line = event.start_mark.line + 1
                if top is not None and top.is_map and top.key is None:
                    if event.anchor is not None:
                        raise YamlProblem(_("anchors on keys are not accepted"), line)
                    top.key, top.key_line = event.value, line
                    top.merge = event.value == "<<" and bool(event.implicit[0]) and not event.style
                    continue
                text = event.value
                if event.tag is None and "$" not in text and (
                        event.style or (text and text[0] not in typed_starts)):
                    value: Any = text  # quoted, a block, or plain text no resolver claims
                else:
                    value = self._scalar(event, line)
                size = height = 1
                node: LineTree = line
                anchor = event.anchor
                counted = 1
            elif kind in starts:
                line = event.start_mark.line + 1
                is_map = kind is ev.MappingStartEvent
                if event.tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                    raise YamlProblem(_("tag {tag} is not accepted (plain data only)", tag=event.tag),
                                      line)
                if top is not None and top.is_map and top.key is None:
                    raise YamlProblem(_("a key must be text, not a mapping or a list"), line)
                if len(stack) >= YAML_MAX_DEPTH:
                    raise YamlProblem(_("nested deeper than {depth} levels", depth=YAML_MAX_DEPTH), line)
                top = _Frame(line, event.anchor, is_map)
                stack.append(top)
                continue
            elif kind in ends:
                frame = stack.pop()
                top = stack[-1] if stack else None
                line = frame.line
                value = frame.finish()
                size, height, anchor = frame.size, frame.height, frame.anchor
                node = (line, frame.lines)
                counted = 1
            elif kind is alias_kind:
                line = event.start_mark.line + 1
                if top is not None and top.is_map and top.key is None:
                    raise YamlProblem(_("an alias cannot be a key"), line)
                found = self.anchors.get(event.anchor)
                if found is None:
                    if any(f.anchor == event.anchor for f in stack):
                        raise YamlProblem(_("alias *{anchor} refers to a value that contains it",
                                            anchor=event.anchor), line)
                    raise YamlProblem(_("alias *{anchor} has no anchor &{anchor} before it",
                                        anchor=event.anchor), line)
                value, size, height = found
                if len(stack) + height > YAML_MAX_DEPTH:
                    raise YamlProblem(_("nested deeper than {depth} levels", depth=YAML_MAX_DEPTH), line)
                node, anchor, counted = line, None, size  # an alias counts at its full size
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlProblem(_("one YAML document expected (found a second '---')"),
                                      event.start_mark.line + 1)
                continue
            else:
                continue
            nodes += counted
            if nodes > YAML_MAX_NODES:
                raise YamlProblem(_("more than {count} values once aliases are expanded",
                                    count=f"{YAML_MAX_NODES:,}"), line)
            if anchor is not None:
                self.anchors[anchor] = (value, size, height)
            if top is None:
                document, tree = value, node
                continue
            top.size += size
            if height >= top.height:
                top.height = height + 1
            if not top.is_map:
                top.items.append(value)
                top.lines.append(node)
                continue
            key, key_line = top.key, top.key_line
            top.key = None
            if top.merge:
                top.merges.append((value, key_line))
                continue
            if key in top.items:
                first = top.lines[key]
                raise YamlProblem(_("duplicate key {key} (first at line {line})", key=repr(key),
                                    line=first if isinstance(first, int) else first[0]), key_line)
            top.items[key] = value
            # A mapping's value is found by its key: an unknown or wrong key is reported
            # there, and a nested mapping starts on the line after it.
            top.lines[key] = key_line if isinstance(node, int) else (key_line, node[1])
        return Located(document, tree)

    def _scalar(self, event: ev.ScalarEvent, line: int) -> Any:
        tag, value = event.tag, event.value
        plain = event.implicit[0] and not event.style
        if tag in (None, "!"):
            tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit) if plain else _TAG + "str"
        elif tag not in _SCALAR_TAGS:
            raise YamlProblem(_("tag {tag} is not accepted (plain data only)", tag=tag), line)
        if tag == _TAG + "str":
            if "$" not in value:
                return value
            expanded, whole = self._expand(value, line)
            if plain and whole:
                # `port: ${PORT}`: the variable's text is read as the value would have been.
                tag = self.loader.resolve(yaml.ScalarNode, expanded, (True, False))
                if tag == _TAG + "str":
                    return expanded
                return self._construct(tag, expanded, event, line)
            return expanded
        return self._construct(tag, value, event, line)

    def _construct(self, tag: str, value: str, event: ev.ScalarEvent, line: int) -> Any:
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None:
            # A plain scalar the resolver gives a tag no safe constructor has (a lone `=`
            # is YAML 1.1's "value key" tag): it is text, as it was written.
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        try:
            return constructor(self.loader, node)
        except (ValueError, yaml.YAMLError):
            raise YamlProblem(_("{value} is not a valid {kind}", value=repr(value),
                                kind=tag.removeprefix(_TAG)), line) from None

    def _expand(self, value: str, line: int) -> tuple[str, bool]:
        """``value`` with ``${NAME}`` replaced; and whether it was one reference only."""
        refs = 0

        def sub(match: re.Match[str]) -> str:
            nonlocal refs
            text = match.group(0)
            if text == "$${":
                return "${"
            name = match.group(1)
            if name is None or not _NAME.match(name):
                raise YamlProblem(_("{text}: expected ${{NAME}} with a variable name (write $${{ "
                                    "for a literal ${{)", text=repr(text)), line)
            if name not in self.env:
                raise YamlProblem(_("environment variable {name} is not set (write $${{{name}}} "
                                    "for a literal ${{{name}}}, e.g. a canary variable)",
                                    name=name), line)
            refs += 1
            return self.env[name]

        expanded = _REF.sub(sub, value)
        whole = refs == 1 and re.fullmatch(r"\$\{[^}]*\}", value) is not None
        return expanded, whole
