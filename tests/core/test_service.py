"""MonitorService: validation, tier limits and lifecycle, with typed errors."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from lighthouse.core.errors import (
    InvalidIntervalError,
    InvalidStateError,
    InvalidURLError,
    LighthouseError,
    MonitorLimitReachedError,
    MonitorNotFoundError,
    TargetNotAllowedError,
    UnknownCheckTypeError,
    ValidationError,
)
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from lighthouse.core.state import State
from targets import Target

ALICE = Identity(Provider.DISCORD, "1001")
BOB = Identity(Provider.TELEGRAM, "2002")


@pytest.mark.parametrize(
    ("type_", "config", "interval", "error", "field"),
    [
        ("http", {"url": "ftp://example.com"}, None, InvalidURLError, "url"),
        ("http", {"url": "http://"}, None, InvalidURLError, "url"),
        ("http", {"url": "http://example.com:99999/"}, None, InvalidURLError, "url"),
        ("http", {}, None, ValidationError, "url"),
        ("http", {"url": "https://example.com", "method": "BREW"}, None, ValidationError, "method"),
        ("http", {"url": "https://example.com", "timeout_s": 0}, None, ValidationError, "timeout_s"),
        ("http", {"url": "https://example.com", "surprise": 1}, None, ValidationError, "surprise"),
        ("http", {"url": "https://example.com", "valid_status_codes": [700]}, None,
         ValidationError, "valid_status_codes"),
        ("http", {"url": "https://example.com", "headers": {"Host": "x"}}, None,
         ValidationError, "headers"),
        ("http", {"url": "https://example.com"}, 10, InvalidIntervalError, None),
        ("http", {"url": "https://example.com"}, 60, InvalidIntervalError, None),  # free: 1 h
        ("smoke_signal", {"url": "https://example.com"}, None, UnknownCheckTypeError, None),
    ],
)
async def test_bad_monitor_input_is_refused_with_typed_errors(
    service: MonitorService, pool: asyncpg.Pool, type_: str, config: dict[str, object],
    interval: int | None, error: type[LighthouseError], field: str | None,
) -> None:
    with pytest.raises(error) as info:
        await service.create_monitor(ALICE, type=type_, config=config, interval_s=interval)
    assert info.value.code == error.code
    if field is not None:
        assert info.value.params["field"].split(".")[0] == field
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 0  # nothing half-written


async def test_interval_error_says_the_tier_minimum(service: MonitorService) -> None:
    with pytest.raises(InvalidIntervalError) as info:
        await service.create_monitor(ALICE, config={"url": "https://example.com"}, interval_s=300)
    assert info.value.params == {"interval": 300, "min": 3600, "tier": "free"}


async def test_tier_limit_holds_under_concurrent_creates(service: MonitorService,
                                                         pool: asyncpg.Pool) -> None:
    await service.ensure_user(ALICE)
    await pool.execute("UPDATE users SET tier = 'basic'")  # 3 monitors
    results = await asyncio.gather(
        *(service.create_monitor(ALICE, config={"url": f"https://example.com/{i}"})
          for i in range(6)),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, MonitorLimitReachedError)]
    assert (len(made), len(refused)) == (3, 3)
    assert refused[0].params == {"limit": 3, "tier": "basic"}
    assert all(m.interval_s == 900 for m in made)


async def test_lifecycle_list_pause_resume_remove(service: MonitorService, target: Target) -> None:
    m = await service.create_monitor(ALICE, config={"url": target.url}, name="Shop API")
    assert m.state is State.PENDING and m.tier == "free" and m.interval_s == 3600
    assert [x.name for x in await service.list_monitors(ALICE)] == ["Shop API"]
    assert await service.list_monitors(BOB) == []
    with pytest.raises(MonitorNotFoundError):
        await service.get_monitor(BOB, "Shop API")  # other users never see it
    assert (await service.get_monitor(ALICE, "shop api")).id == m.id
    assert (await service.get_monitor(ALICE, str(m.public_id)[:8])).id == m.id
    paused = await service.pause(ALICE, "Shop API")
    assert paused.state is State.PAUSED
    with pytest.raises(InvalidStateError):
        await service.pause(ALICE, "Shop API")
    resumed = await service.resume(ALICE, str(m.public_id))
    assert resumed.state is State.PENDING
    with pytest.raises(InvalidStateError):
        await service.resume(ALICE, "Shop API")
    await service.remove(ALICE, "Shop API")
    assert await service.list_monitors(ALICE) == []
    with pytest.raises(MonitorNotFoundError):
        await service.remove(ALICE, "Shop API")


async def test_duplicate_names_get_a_suffix(service: MonitorService, pool: asyncpg.Pool) -> None:
    await service.ensure_user(ALICE)
    await pool.execute("UPDATE users SET tier = 'pro'")
    a = await service.create_monitor(ALICE, config={"url": "https://example.com/a"}, name="site")
    b = await service.create_monitor(ALICE, config={"url": "https://example.com/b"}, name="site")
    assert (a.name, b.name) == ("site", "site (2)")


async def test_private_target_refused_when_not_allowed(pool: asyncpg.Pool, target: Target) -> None:
    strict = MonitorService(pool, TargetGuard(allow_private=False))
    for url in (target.url, f"http://localhost:{target.port}/", "http://169.254.169.254/latest",
                "http://[::1]/", "http://10.1.2.3/", "http://0.0.0.0/"):
        with pytest.raises(TargetNotAllowedError) as info:
            await strict.create_monitor(ALICE, config={"url": url})
        assert info.value.code == "target_not_allowed"
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 0


async def test_language_override_is_stored_on_user_and_monitors(service: MonitorService,
                                                                pool: asyncpg.Pool) -> None:
    await service.create_monitor(ALICE, config={"url": "https://example.com"})
    user = await service.set_language(ALICE, "es")
    assert user.language == "es"
    assert await pool.fetchval("SELECT language FROM monitors") == "es"
    with pytest.raises(ValidationError):
        await service.set_language(ALICE, "fr")


async def test_expired_tier_falls_back_to_free(service: MonitorService, pool: asyncpg.Pool) -> None:
    from datetime import timedelta

    user = await service.upgrade_tier(ALICE, "pro", timedelta(days=30))
    assert user.tier == "pro"
    await pool.execute("UPDATE users SET tier_expires_at = now() - interval '1 s'")
    assert (await service.ensure_user(ALICE)).tier == "free"
