"""Reading the monitors-as-code file: YAML as data only, bounded, every problem with its line
(core/config_file/yamlsafe.py, core/config_file/document.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from lighthouse.core.config_file.document import ConfigFileError, parse_text, read_file
from lighthouse.core.config_file.yamlsafe import (
    YAML_MAX_BYTES,
    YAML_MAX_DEPTH,
    YamlProblem,
    load_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lighthouse.yaml"
EXAMPLE_ENV = {"ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
               "WEBSITE_DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1/abc",
               "BACKUP_PING_TOKEN": "backup-ping-token-0123456789"}


def problem(text: str, env: dict[str, str] | None = None) -> YamlProblem:
    with pytest.raises(YamlProblem) as info:
        load_yaml(text, env or {})
    return info.value


def refused(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        parse_text(text, "f.yaml", env or {})
    return str(info.value).splitlines()


def test_reads_what_safe_load_reads() -> None:
    text = EXAMPLE.read_text()
    got = load_yaml(text, EXAMPLE_ENV).value
    want = yaml.safe_load(text)
    # Identical but for the variables, which safe_load leaves as written.
    assert got["monitors"][7]["config"]["token"] == EXAMPLE_ENV["BACKUP_PING_TOKEN"]
    assert want["monitors"][7]["config"]["token"] == "${BACKUP_PING_TOKEN}"
    for side in (got, want):
        side["monitors"][7]["config"]["token"] = "t"
        side["channels"][0]["config"]["url"] = side["channels"][1]["config"]["url"] = "u"
        # $${token} is the canary's own ${token} once read
        steps = side["monitors"][8]["config"]["steps"]
        steps[1]["headers"]["Authorization"] = steps[1]["headers"]["Authorization"].replace("$${", "${")
    assert got == want
    scalars = load_yaml("a: 1\nb: 1.5\nc: true\nd: ~\ne: '7'\nf: 2030-01-01T00:00:00Z\ng: |\n  x\n", {})
    assert scalars.value == yaml.safe_load("a: 1\nb: 1.5\nc: true\nd: ~\ne: '7'\n"
                                           "f: 2030-01-01T00:00:00Z\ng: |\n  x\n")


def test_a_plain_scalar_without_a_safe_constructor_is_text() -> None:
    # PyYAML resolves a lone `=` to tag:yaml.org,2002:value, which SafeLoader cannot
    # build: it was a KeyError (a crash) before; as text it is what the user wrote.
    assert load_yaml("=", {}).value == "="
    assert load_yaml("condition: =\nlist: [=, a]\n", {}).value == {
        "condition": "=", "list": ["=", "a"]}
    assert load_yaml("v: ${X}\n", {"X": "="}).value == {"v": "="}


def test_every_value_keeps_its_line() -> None:
    located = load_yaml("monitors:\n  - name: a\n    config:\n      url: x\n      tags: [1, 2]\n", {})
    assert located.line_of(("monitors", 0, "name")) == 2
    assert located.line_of(("monitors", 0, "config", "url")) == 4
    assert located.line_of(("monitors", 0, "config", "tags", 1)) == 5
    assert located.line_of(("monitors", 0, "config", "missing")) == 3  # at its mapping
    assert located.line_of(("monitors", 5)) == 1


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
    ("a: !!python/object/apply:os.system ['true']\n", 1, "not accepted"),
    ("a: 1\nb: !!binary aGk=\n", 2, "not accepted"),
    ("a: !custom x\n", 1, "not accepted"),
    ("a: !!set {x: null}\n", 1, "not accepted"),
    ("a: &x [1, *x]\n", 1, "contains it"),
    ("a: *nowhere\n", 1, "no anchor"),
    ("a: 1\n---\nb: 2\n", 2, "one YAML document"),
    ("a: [1, 2\nb: 3\n", 2, "not valid YAML"),
    ("? [a, b]\n: c\n", 1, "key must be text"),
])
def test_what_is_not_plain_data_is_refused_with_its_line(text: str, line: int, words: str) -> None:
    found = problem(text)
    assert found.line == line and words in found.message


def test_nesting_and_size_are_bounded() -> None:
    deep = "a: " + "[" * (YAML_MAX_DEPTH + 10) + "]" * (YAML_MAX_DEPTH + 10) + "\n"
    assert "nested deeper" in problem(deep).message
    assert load_yaml("a: " + "[" * 100 + "]" * 100, {}).value is not None
    # An alias brings its depth along: an anchored deep list aliased deep is refused too.
    half = YAML_MAX_DEPTH // 2 + 5
    nested = "[" * half + "]" * half
    assert "nested deeper" in problem(f"a: &d {nested}\nb: {'[' * half}*d{']' * half}\n").message
    big = "a: '" + "x" * YAML_MAX_BYTES + "'\n"
    assert "larger than" in problem(big).message


def test_alias_bombs_are_refused_without_being_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):  # 10**10 values once expanded, in ten lines
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    started = time.perf_counter()
    found = problem("\n".join(lines) + "\n")
    assert "once aliases are expanded" in found.message and found.line is not None
    assert time.perf_counter() - started < 2
    # Anchors within bounds are fine, merge keys included; written keys win.
    ok = load_yaml("d: &d {interval: 60, language: es}\nm: {<<: *d, interval: 30}\n", {})
    assert ok.value["m"] == {"interval": 30, "language": "es"}


def test_environment_variables_expand_in_values_only() -> None:
    env = {"URL": "https://hooks.example/x", "PORT": "8443", "KEY": "k"}
    value = load_yaml("url: ${URL}\nport: ${PORT}\nquoted: '${PORT}'\nboth: ${URL}/${PORT}\n"
                      "literal: $${STEP}\n${KEY}: 1\n", env).value
    assert value == {"url": "https://hooks.example/x", "port": 8443, "quoted": "8443",
                     "both": "https://hooks.example/x/8443", "literal": "${STEP}", "${KEY}": 1}
    # The variable's text is data: it cannot add keys or structure.
    assert load_yaml("a: ${V}\n", {"V": "x\nb: 2"}).value == {"a": "x\nb: 2"}
    unset = problem("a: 1\nb: ${SLACK_URL}\n")
    assert unset.line == 2 and "SLACK_URL is not set" in unset.message
    assert "variable name" in problem("a: ${not a name}\n").message


def test_file_shape_problems_name_line_and_expectation() -> None:
    text = (
        "tier: gold\n"                             # 1
        "monitors:\n"                              # 2
        "  - name: Site\n"                         # 3
        "    intervall: 60\n"                      # 4
        "    config: {url: https://x.example}\n"   # 5
        "  - config: {}\n"                         # 6
        "  - name: Job\n"                          # 7
        "    interval: soon\n"                     # 8
        "maintenance:\n"                           # 9
        "  - monitors: [Site]\n"                   # 10
        "    from: 2030-01-01T00:00:00\n"          # 11
        "    until: 2030-01-01T01:00:00Z\n"        # 12
    )
    lines = refused(text)
    assert lines[0].startswith("f.yaml:1: tier: expected one of: free, basic")
    assert any(line.startswith("f.yaml:4: monitors[0].intervall: unknown key 'intervall' "
                               "(expected one of: id, name, type, interval") for line in lines)
    assert "f.yaml:6: monitors[1].name: required" in lines
    assert any(line.startswith("f.yaml:8: monitors[2].interval: expected seconds (60) or a "
                               "duration") for line in lines)
    assert any(line.startswith("f.yaml:11: maintenance[0].from: needs a time zone") for line in lines)


def test_names_ids_and_references_are_checked_across_entries() -> None:
    text = (
        "monitors:\n"
        "  - {name: Site, config: {url: 'https://a.example'}}\n"
        "  - {name: site, config: {url: 'https://b.example'}}\n"
        "  - {id: db, name: Database, type: tcp, config: {host: a.example, port: 5432}}\n"
        "  - {id: DB, name: Other, type: tcp, config: {host: a.example, port: 5433}}\n"
        "channels:\n"
        "  - {kind: webhook, monitor: nope, config: {url: 'https://h.example'}}\n"
        "maintenance:\n"
        "  - {monitors: [Site, ghost], from: 2030-01-01T02:00:00Z, until: 2030-01-01T01:00:00Z}\n"
    )
    lines = refused(text)
    assert "f.yaml:3: monitors[1].name: 'site' is used by monitors[0] too (line 2); ids and " \
           "names must be unique" in lines
    assert any(line.startswith("f.yaml:5: monitors[3].id: 'db' is used by monitors[2]") for line in lines)
    assert "f.yaml:7: channels[0].monitor: no monitor 'nope' in this file" in lines
    assert "f.yaml:9: maintenance[0].monitors[1]: no monitor 'ghost' in this file" in lines
    assert "f.yaml:9: maintenance[0].until: must be after from" in lines


@pytest.mark.parametrize(("text", "words"), [
    ("", "expected a mapping with monitors:"),
    ("- a\n- b\n", "expected a mapping with monitors:"),
    ("version: 2\n", "this Lighthouse reads version 1"),
])
def test_what_is_not_a_config_file_is_refused(text: str, words: str) -> None:
    assert words in refused(text)[0]


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        read_file(tmp_path / "nope.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}: cannot read the file")


def test_durations_read_as_seconds() -> None:
    doc = parse_text("defaults: {interval: 5m}\nmonitors:\n"
                     "  - {name: a, interval: 90, config: {}}\n"
                     "  - {name: b, interval: '1h', config: {}}\n"
                     "  - {name: c, interval: 2d, config: {}}\n", "f.yaml", {})
    got: list[Any] = [doc.config.defaults.interval, *(m.interval for m in doc.config.monitors)]
    assert got == [300, 90, 3600, 172800]


MONITOR_KEYS = "id, name, type, interval, failure_threshold, success_threshold, language, config"


@pytest.mark.parametrize(("text", "english", "spanish"), [
    pytest.param(
        "monitors:\n  - name: Site\n    intervall: 60\n",
        f"f.yaml:3: monitors[0].intervall: unknown key 'intervall' (expected one of: {MONITOR_KEYS})",
        f"f.yaml:3: monitors[0].intervall: clave desconocida 'intervall' (se esperaba una de: "
        f"{MONITOR_KEYS})", id="unknown key"),
    pytest.param(
        "monitors:\n  - name: Site\n    failure_threshold: many\n",
        "f.yaml:3: monitors[0].failure_threshold: expected a whole number",
        "f.yaml:3: monitors[0].failure_threshold: se esperaba un número entero", id="wrong type"),
    pytest.param(
        "monitors:\n  - name: Site\n    interval: soon\n",
        "f.yaml:3: monitors[0].interval: expected seconds (60) or a duration such as 30s, 5m, "
        "1h, 1d",
        "f.yaml:3: monitors[0].interval: se esperaban segundos (60) o una duración como 30s, 5m, "
        "1h, 1d", id="bad interval"),
    pytest.param(
        "monitors:\n  - name: Site\n  - name: site\n",
        "f.yaml:3: monitors[1].name: 'site' is used by monitors[0] too (line 2); ids and names "
        "must be unique",
        "f.yaml:3: monitors[1].name: 'site' también lo usa monitors[0] (línea 2); los ids y los "
        "nombres deben ser únicos", id="duplicate name"),
    pytest.param(
        "monitors:\n  - name: Site\n    name: Other\n",
        "f.yaml:3: duplicate key 'name' (first at line 2)",
        "f.yaml:3: clave duplicada 'name' (la primera en la línea 2)", id="duplicate key"),
])
def test_problems_are_said_in_the_readers_language(text: str, english: str, spanish: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_text(text, "f.yaml", {})
    assert info.value.render("en").splitlines() == [english]
    assert info.value.render("es").splitlines() == [spanish]
    assert str(info.value) == english  # logs and the service's start-up stay English


def test_pydantic_errors_become_catalog_sentences() -> None:
    """core/validation_text.py: each error by its type and ctx, in either language."""
    from lighthouse.core.validation_text import pydantic_message
    from pydantic import BaseModel, Field, HttpUrl, ValidationError, field_validator

    class Probe(BaseModel):
        port: int = Field(le=65535)
        tags: list[str] = Field(max_length=2)
        mode: Literal["a", "b"]
        url: HttpUrl
        note: str

        @field_validator("note")
        @classmethod
        def _note(cls, value: str) -> str:
            raise ValueError("notes are closed")

    with pytest.raises(ValidationError) as info:
        Probe.model_validate({"port": 70000, "tags": ["x", "y", "z"], "mode": "c",
                              "url": "nope", "note": "hi"})
    said = {str(e["loc"][0]): pydantic_message(e) for e in info.value.errors()}
    assert {k: m.render("en") for k, m in said.items()} == {
        "port": "expected 65535 or less", "tags": "expected at most 2 items",
        "mode": "expected one of: 'a', 'b'",
        "url": "expected a URL such as https://example.com/health",
        "note": "notes are closed"}  # a validator's own English sentence, kept whole
    assert {k: m.render("es") for k, m in said.items()} == {
        "port": "se esperaba 65535 o menos", "tags": "se esperaban como mucho 2 elementos",
        "mode": "se esperaba uno de: 'a', 'b'",
        "url": "se esperaba una URL como https://example.com/health",
        "note": "notes are closed"}
