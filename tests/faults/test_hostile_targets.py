"""Hostile targets (issue 16): every misbehaving server is a clear error within the check's
timeout, through the real check types and the real scheduler, with memory bounded.

The servers (tests/faults/hostile.py) run in a child process, so the resident memory
measured here is the checker's alone. bench/hostile.py prints the same figures.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from faults.hostile import hostile_servers
from faults.hostile_checks import (
    CASES,
    TIMEOUT_S,
    Case,
    RssSampler,
    hostile_monitors,
    insert_monitors,
    loopback_context,
    run_scheduler,
)
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.http import BODY_READ_LIMIT, BODY_SAMPLE_BYTES
from lighthouse.core.checks.runner import run_check

pytestmark = pytest.mark.faults

# Scheduling, a loaded 2-core machine, the result's own bookkeeping: a check may end this
# much after its timeout and still count as "within" it.
SLACK_S = 1.5
CONCURRENT = 200
RSS_GROWTH_LIMIT_MB = 400.0  # generous: measured about 100 MB (bench/hostile.py prints it)


@pytest.fixture(scope="module")
def hostile() -> Iterator[dict[str, int]]:
    with hostile_servers(max_s=600) as ports:
        yield ports


@pytest.fixture
async def context() -> AsyncIterator[CheckContext]:
    async with loopback_context() as ctx:
        yield ctx


def _assert_clear_error(case: Case, ok: bool, code: str | None, error: str | None,
                        elapsed_s: float) -> None:
    assert not ok, case.label
    assert code in case.codes, (case.label, code, error)
    assert error and case.says in error, (case.label, error)
    assert elapsed_s <= TIMEOUT_S + SLACK_S, (case.label, elapsed_s)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
async def test_each_hostile_target_is_a_clear_error_within_the_timeout(
        case: Case, hostile: dict[str, int], context: CheckContext) -> None:
    started = time.monotonic()
    result = await run_check(case.type, case.config(hostile[case.kind]), context)
    elapsed = time.monotonic() - started
    print(f"{case.label}: {elapsed:.2f} s {result.error_code}: {result.error}")
    _assert_clear_error(case, result.ok, result.error_code, result.error, elapsed)
    if result.latency_ms is not None:  # what is stored says how long it took
        assert result.latency_ms / 1000 <= elapsed + 0.01


async def test_the_scheduler_records_every_hostile_target_as_a_clear_error(
        dsn: str, pool: asyncpg.Pool, hostile: dict[str, int]) -> None:
    by_label = {c.label: c for c in CASES}
    await insert_monitors(pool, [(c.label, c.type, c.config(hostile[c.kind])) for c in CASES])
    started = time.monotonic()
    rows = await run_scheduler(dsn, pool, len(CASES), concurrency=len(CASES))
    elapsed = time.monotonic() - started
    assert sorted(r["name"] for r in rows) == sorted(by_label)
    # All ran at once: the whole run, claims and batched writes included, fits one timeout.
    assert elapsed <= TIMEOUT_S + 2 * SLACK_S, elapsed
    for row in rows:
        case = by_label[row["name"]]
        elapsed_s = row["latency_ms"] / 1000 if row["latency_ms"] is not None else elapsed
        _assert_clear_error(case, row["ok"], row["error_code"], row["error"], elapsed_s)


async def test_rss_stays_bounded_under_many_hostile_targets_at_once(
        dsn: str, pool: asyncpg.Pool, hostile: dict[str, int]) -> None:
    await insert_monitors(pool, hostile_monitors(hostile, CONCURRENT))
    started = time.monotonic()
    with RssSampler() as rss:
        rows = await run_scheduler(dsn, pool, CONCURRENT, concurrency=CONCURRENT)
    elapsed = time.monotonic() - started
    print(f"{CONCURRENT} hostile checks at once: {elapsed:.1f} s, RSS {rss.baseline:.0f} MB -> "
          f"peak {rss.peak:.0f} MB (+{rss.growth_mb:.0f} MB)")
    assert len(rows) == CONCURRENT
    assert not any(r["ok"] for r in rows)
    assert elapsed <= TIMEOUT_S + 4 * SLACK_S, elapsed  # at once, not one after another
    assert rss.growth_mb < RSS_GROWTH_LIMIT_MB


@pytest.mark.parametrize("kind", ["endless", "huge"])
async def test_a_status_check_of_an_endless_or_huge_body_ends_at_the_read_limit(
        kind: str, hostile: dict[str, int], context: CheckContext) -> None:
    """Without a condition on [BODY] a 200 is up whatever its length (a download, a stream):
    the check stops reading at the limit, says the body was cut, and keeps only a sample."""
    started = time.monotonic()
    result = await run_check("http", {"url": f"http://127.0.0.1:{hostile[kind]}/",
                                      "timeout_s": TIMEOUT_S}, context)
    elapsed = time.monotonic() - started
    assert (result.ok, result.status_code) == (True, 200), result
    assert result.details["body_truncated_at"] == BODY_READ_LIMIT
    assert len(result.details["body_sample"]) == BODY_SAMPLE_BYTES
    assert elapsed < TIMEOUT_S / 2, elapsed
