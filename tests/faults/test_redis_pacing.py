"""Chat pacing while Redis is away (issue 16): alerts keep going, paced in the process at a
conservative share of the rate, and pacing returns to Redis by itself. Redis here is a real
redis-server process, stopped and started again."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fault_harness import RedisProcess
from lighthouse.bot.ratelimit import RedisChatRateLimiter

pytestmark = pytest.mark.faults


@pytest.fixture
async def redis_process() -> AsyncIterator[RedisProcess]:
    # Under /tmp: a unix socket path is limited to ~100 bytes (tmp_path can be longer).
    server = RedisProcess(Path(tempfile.mkdtemp(prefix="lh-rp-", dir="/tmp")))
    await server.start()
    yield server
    await server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


async def test_pacing_falls_back_conservatively_and_returns_to_redis(
        redis_process: RedisProcess) -> None:
    client = aioredis.from_url(redis_process.url)
    limiter = RedisChatRateLimiter(client, fallback_share=0.5, retry_s=0.2)
    try:
        # On Redis: a burst of 3, then a wait of about 1 s at 1 message/s.
        assert [await limiter.reserve("tg:1", 1.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert 0.5 < await limiter.reserve("tg:1", 1.0, 3) <= 1.0
        assert await client.exists("lh:chat:rate:tg:1") == 1
        await redis_process.stop()
        # Away: no exception reaches the sender; burst 1 and half the rate (2 s per message).
        assert await limiter.reserve("tg:2", 1.0, 3) == 0.0
        assert limiter.degraded
        wait = await limiter.reserve("tg:2", 1.0, 3)
        assert 1.5 < wait <= 2.0
        await redis_process.start()
        await asyncio.sleep(0.3)  # past retry_s
        assert await limiter.reserve("tg:3", 1.0, 3) == 0.0
        assert not limiter.degraded
        assert await client.exists("lh:chat:rate:tg:3") == 1
    finally:
        await client.aclose()
