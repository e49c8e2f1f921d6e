"""json and jsonb parameters: orjson for the common case, the standard encoder for what
orjson refuses, and NUL and lone surrogates cleaned (PostgreSQL refuses both)."""

from __future__ import annotations

import asyncpg
import pytest


@pytest.mark.parametrize(("value", "stored"), [
    ({"timings": {"total_ms": 0.95}, "body_sample": "ok é \U0001F600"},
     {"timings": {"total_ms": 0.95}, "body_sample": "ok é \U0001F600"}),
    ({"balance_wei": 10**20}, {"balance_wei": 10**20}),  # past orjson's 64 bits
    ({"n": {1: "int key"}}, {"n": {"1": "int key"}}),
    ({"latency": float("nan")}, {"latency": None}),
])
async def test_values_are_stored_as_json(pool: asyncpg.Pool, value: object,
                                         stored: object) -> None:
    await pool.execute("CREATE TABLE j (b jsonb, t json)")
    await pool.execute("INSERT INTO j VALUES ($1, $2)", value, value)
    row = await pool.fetchrow("SELECT b, t::jsonb AS t FROM j")
    assert row["b"] == stored
    assert row["t"] == stored


@pytest.mark.parametrize("bad", ["nul \x00 in text", "lone \ud800 surrogate"])
async def test_text_postgresql_refuses_is_cleaned(pool: asyncpg.Pool, bad: str) -> None:
    await pool.execute("CREATE TABLE j (b jsonb)")
    await pool.execute("INSERT INTO j VALUES ($1)", {"body_sample": bad, "keep": "é"})
    row = await pool.fetchval("SELECT b FROM j")
    assert row["keep"] == "é"
    assert "\x00" not in row["body_sample"] and "\ud800" not in row["body_sample"]
    assert row["body_sample"].startswith(bad.split()[0])
