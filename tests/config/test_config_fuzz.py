"""Hypothesis over the monitors-as-code loader (issue 16): whatever the file holds, reading
and planning it ends in a Document or a ConfigFileError whose every line names the file
(and a line when there is one), never another exception; `lighthouse apply` refuses it
in the operator's language (core/config_file/, lighthouse/apply_cli.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from lighthouse.core.config_file.apply import apply_document
from lighthouse.core.config_file.document import ConfigFileError, Document, parse_text
from lighthouse.core.i18n import Message, verbatim
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

from lighthouse import cli

pytestmark = pytest.mark.faults

SEED = int(os.environ.get("LIGHTHOUSE_FUZZ_SEED", "16"))  # another value explores other inputs
SOURCE = "fuzz.yaml"
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["http", "tcp", "heartbeat", "dns", "webhook", "30s", "5m", "1d", "0s",
                     "enterprise", "free", "es", "en", "http://127.0.0.1:9/", "${MISSING}",
                     "2030-01-01T02:00:00Z", "[STATUS] == 200", "[BODY].x >"]),
)
KEYS = st.sampled_from(["monitors", "channels", "maintenance", "tier", "defaults", "version",
                        "name", "id", "type", "interval", "config", "url", "host", "port",
                        "kind", "language", "monitor", "start", "end", "conditions",
                        "failure_threshold", "period_s", "every"]) | st.text(max_size=8)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=5), max_leaves=25)
DOCUMENTS = st.dictionaries(
    st.sampled_from(["monitors", "channels", "maintenance", "tier", "defaults", "version"]),
    VALUES, max_size=4)
# Entries shaped like the file's, with fuzzed values: what gets past the reader to planning.
CONFIGS = st.dictionaries(st.sampled_from(["url", "host", "port", "period_s", "chain_id",
                                           "conditions", "timeout_s", "record_type"]),
                          SCALARS | st.lists(SCALARS, max_size=3), max_size=3)
MONITOR = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=20)},
    optional={"type": st.sampled_from(["http", "tcp", "dns", "heartbeat", "evm_rpc", "nope"]),
              "interval": st.sampled_from([30, 60, "5m", "1d", 5, "x"]),
              "config": CONFIGS, "language": st.sampled_from(["en", "es", "fr"])})
CHANNEL = st.fixed_dictionaries(
    {"kind": st.sampled_from(["webhook", "telegram", "apprise", "nope"]), "config": CONFIGS},
    optional={"monitor": st.text(max_size=10)})
PLANNABLE = st.fixed_dictionaries(
    {"monitors": st.lists(MONITOR, max_size=3, unique_by=lambda m: m["name"])},
    optional={"channels": st.lists(CHANNEL, max_size=2),
              "tier": st.sampled_from(["free", "pro", "enterprise"])})
RAW_YAML_PIECES = st.lists(st.sampled_from([
    "monitors:", "  - name: a", "    config: {url: http://127.0.0.1:9/}", "- ", "&a [*a, *a]",
    "!!python/object:os.system", "key: [", "{", "'", '"\\u', "\t", ":", "? x", "%YAML 1.1",
    "---", "...", "monitors: *nope", "<<: *a", "x: &a 1", "y: *a", "${", "${HOME}", "\x00",
    "\ufeff", "interval: 10", "tier: gold", "version: 2"]), max_size=12).map("\n".join)


# Words of the loader's and pydantic's English problems; none may be left in a Spanish one.
ENGLISH = ("expected", "required", "unknown key", "not valid", "is used by", "no monitor",
           "must ", "is not accepted", "duplicate key", "nested deeper", "is not set",
           "cannot read", "needs a time zone", "this file", "Input should", "Value error",
           "Field required", "Extra inputs")
SAID = {"es": 0}  # Spanish problems checked, so a run that saw none fails


def _skeleton(message: Message, lang: str) -> str:
    """The sentence in ``lang`` without the values it quotes (a key, PyYAML's own words)."""
    return Message(message.msgid, tuple((k, "…") for k, _ in message.params)).render(lang)


def _assert_refused_well(exc: ConfigFileError) -> None:
    assert exc.problems, "a refusal names at least one problem"
    english, spanish = exc.render("en").split("\n"), exc.render("es").split("\n")
    assert len(english) == len(spanish) == len(exc.problems)
    for problem, en, es in zip(exc.problems, english, spanish, strict=True):
        assert en.startswith(SOURCE) and es.startswith(SOURCE), (en, es)  # one line each
        place = f"{SOURCE}:{problem.line}" if problem.line else SOURCE
        place += f": {problem.where}: " if problem.where else ": "
        assert en.startswith(place) and es.startswith(place), (en, es)  # file:line kept
        assert problem.message.render("en").strip()
        assert problem.line is None or problem.line >= 1
        if problem.message.msgid == verbatim("").msgid:
            continue  # the service's own words for its rules (docs/reliability.md)
        text = _skeleton(problem.message, "es")
        assert text != _skeleton(problem.message, "en"), problem.message.msgid
        assert not [w for w in ENGLISH if w in text], (text, problem.message.msgid)
        SAID["es"] += 1


def _read(raw: str | bytes) -> Document | None:
    try:
        return parse_text(raw, SOURCE, {})
    except ConfigFileError as exc:
        _assert_refused_well(exc)
        return None


def test_any_text_is_read_or_refused_with_its_problems() -> None:
    before = SAID["es"]

    @seed(SEED)
    @FUZZ
    @given(st.one_of(st.text(max_size=400), st.binary(max_size=400), RAW_YAML_PIECES))
    def run(raw: str | bytes) -> None:
        _read(raw)

    run()
    print(f"problems checked in Spanish: {SAID['es'] - before}")
    assert SAID["es"] - before >= 50  # the run saw the loader's own problems, not only PyYAML's


def test_any_shape_of_data_is_read_or_refused_with_its_problems() -> None:
    before = SAID["es"]

    @seed(SEED)
    @FUZZ
    @given(DOCUMENTS)
    def run(data: dict[str, Any]) -> None:
        _read(yaml.safe_dump(data, allow_unicode=True))

    run()
    print(f"problems checked in Spanish: {SAID['es'] - before}")
    assert SAID["es"] - before >= 50


async def test_planning_any_readable_file_is_a_plan_or_a_refusal(pool: Any) -> None:
    """What the reader accepts, planning (dry run, through MonitorService) takes or refuses."""
    service = MonitorService(pool, TargetGuard(allow_private=False))
    loop = asyncio.get_running_loop()
    outcomes = {"planned": 0, "refused": 0, "unreadable": 0}

    async def plan(doc: Document) -> None:
        try:
            await apply_document(service, doc, dry_run=True)
            outcomes["planned"] += 1
        except ConfigFileError as exc:
            _assert_refused_well(exc)
            outcomes["refused"] += 1

    @seed(SEED)
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(PLANNABLE)
    def run(data: dict[str, Any]) -> None:
        doc = _read(yaml.safe_dump(data, allow_unicode=True))
        if doc is None:
            outcomes["unreadable"] += 1
            return
        asyncio.run_coroutine_threadsafe(plan(doc), loop).result(30)

    await asyncio.to_thread(run)
    print(f"yaml plans: {outcomes}")
    assert outcomes["planned"] > 0 and outcomes["refused"] > 0


async def test_apply_refuses_a_bad_file_in_the_operators_language(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dsn: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lighthouse.yaml"
    path.write_text("monitors:\n  - name: a\n    interval: 5\n    config: {url: 'http://x/'}\n")
    monkeypatch.setenv("DATABASE_URL", dsn)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    refusals = {}
    for lang in ("en_US.UTF-8", "es_ES.UTF-8"):
        monkeypatch.setenv("LANG", lang)
        assert await asyncio.to_thread(cli.main, ["apply", str(path)]) == 2
        refusals[lang[:2]] = capsys.readouterr().err.splitlines()
    assert refusals["en"][-1] == f"lighthouse apply: {path} refused; nothing was changed"
    assert refusals["es"][-1] == f"lighthouse apply: {path} rechazado; no se cambió nada"
    assert refusals["en"][0] == f"{path}:3: monitors[0].interval: expected 30 to 86400 seconds"
    assert refusals["es"][0] == f"{path}:3: monitors[0].interval: se esperaban de 30 a 86400 segundos"
    # The loader's own problems follow the terminal too.
    path.write_text("monitors:\n  - name: a\n    intervall: 5m\n")
    assert await asyncio.to_thread(cli.main, ["apply", str(path)]) == 2
    problem = capsys.readouterr().err.splitlines()[0]
    assert problem.startswith(f"{path}:3: monitors[0].intervall: clave desconocida 'intervall' "
                              "(se esperaba una de: id, name,"), problem
