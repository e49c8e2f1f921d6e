"""Redis-backed pacing and sent-log for chat alerts (shared by every Lighthouse process).

Losing Redis loses only pacing state and the short dedupe window: the Bot API's own 429
and the outbox's at-least-once delivery still hold. While Redis is unreachable, pacing goes
on in each process at a conservative share of the rate (other processes pace the same
chats unseen), and returns to Redis by itself when it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# While Redis is away: each process paces a chat at this share of its rate, burst 1.
FALLBACK_SHARE = 0.5
# A Redis that does not answer within this is treated as away (a hung server must not
# hold every send), and is tried again after REDIS_RETRY_S.
REDIS_TIMEOUT_S = 1.0
REDIS_RETRY_S = 5.0

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
    """A token bucket per chat, atomic in Redis (one round trip per send); in this process
    at ``fallback_share`` of the rate while Redis is unreachable."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "lh:chat:rate:", *,
                 fallback_share: float = FALLBACK_SHARE, timeout_s: float = REDIS_TIMEOUT_S,
                 retry_s: float = REDIS_RETRY_S) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_BUCKET)
        self._local = MemoryChatRateLimiter()
        self._share = fallback_share
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._away_until = 0.0  # monotonic; Redis is not tried before it
        self.degraded = False

    async def reserve(self, key: str, rate_per_s: float, burst: int) -> float:
        if time.monotonic() >= self._away_until:
            try:
                async with asyncio.timeout(self._timeout_s):
                    wait_ms = await self._script(
                        keys=[self._prefix + key], args=[f"{time.time():.6f}", rate_per_s, burst]
                    )
            except (RedisError, OSError, TimeoutError) as exc:
                self._away_until = time.monotonic() + self._retry_s
                if not self.degraded:
                    self.degraded = True
                    log.warning("chat pacing: redis unreachable, pacing in this process at "
                                "%.0f%% of the rate", self._share * 100,
                                extra={"error": type(exc).__name__})
            else:
                if self.degraded:
                    self.degraded = False
                    log.info("chat pacing: back on redis")
                return max(0.0, int(wait_ms) / 1000)
        return await self._local.reserve(key, rate_per_s * self._share, 1)


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
