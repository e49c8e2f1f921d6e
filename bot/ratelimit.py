"""Redis-backed pacing and sent-log for chat alerts (shared by every Lighthouse process).

Losing Redis loses only pacing state and the short dedupe window: the Bot API's own 429
and the outbox's at-least-once delivery still hold.
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis

# KEYS[1] bucket; ARGV: now (s), rate (tokens/s), burst. Returns 0 (token taken) or the
# milliseconds until one is available.
_BUCKET = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisChatRateLimiter:
    """A token bucket per chat, atomic in Redis (one round trip per send)."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "lh:chat:rate:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_BUCKET)

    async def reserve(self, key: str, rate_per_s: float, burst: int) -> float:
        wait_ms = await self._script(
            keys=[self._prefix + key], args=[f"{time.time():.6f}", rate_per_s, burst]
        )
        return max(0.0, int(wait_ms) / 1000)


class MemoryChatRateLimiter:
    """The same bucket in memory, for a single process without Redis (tests, CLI)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    async def reserve(self, key: str, rate_per_s: float, burst: int) -> float:
        now = time.monotonic()
        tokens, ts = self._state.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - ts) * rate_per_s)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return math.ceil((1 - tokens) / rate_per_s * 1000) / 1000


class RedisSentLog:
    """Idempotency keys of alerts a chat API confirmed, kept a week."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "lh:chat:sent:",
                 ttl_s: int = 7 * 86400) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_s

    async def seen(self, key: str) -> bool:
        return bool(await self._redis.exists(self._prefix + key))

    async def mark(self, key: str) -> None:
        await self._redis.set(self._prefix + key, b"1", ex=self._ttl)
