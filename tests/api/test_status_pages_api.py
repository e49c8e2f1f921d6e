"""Status pages over the API: POST/GET/DELETE /v1/status-pages with a management token,
which acts for the owner of the monitor it manages (the identity that owns /v1 monitors),
on the real app on 127.0.0.1 against the embedded PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.service import MonitorService
from targets import Target

from .conftest import Server, ServerFactory

WALLET = Identity(Provider.WALLET, "0x" + "a1" * 20)
OTHER_WALLET = Identity(Provider.WALLET, "0x" + "b2" * 20)


@pytest.fixture
async def srv(make_server: ServerFactory) -> Server:
    return await make_server(None, paid=False)


async def _bought(service: MonitorService, who: Identity, target: Target, name: str,
                  plan: str = "standard") -> tuple[Monitor, dict[str, str]]:
    await service.upgrade_tier(who, plan, timedelta(days=30))
    m = await service.create_monitor(who, config={"url": target.url}, name=name)
    return m, {"Authorization": f"Bearer {await service.issue_management_token(m)}"}


async def test_a_token_publishes_its_owners_monitors_and_nobody_elses(
    srv: Server, service: MonitorService, target: Target,
) -> None:
    a, auth = await _bought(service, WALLET, target, "shop")
    b, _auth_b = await _bought(service, WALLET, target, "api")
    c, other_auth = await _bought(service, OTHER_WALLET, target, "not-yours")
    url = f"{srv.url}/v1/status-pages"
    async with srv.session.post(url, json={"slug": "wallet-page"}) as r:
        assert r.status == 401
    body = {"slug": "wallet-page", "title": "Shop <status>",
            "monitors": [str(a.public_id), str(b.public_id)]}
    async with srv.session.post(url, json=body, headers=auth) as r:
        assert r.status == 201, await r.text()
        page = (await r.json())["status_page"]
    assert page["url"] == f"{srv.url}/status/wallet-page" and page["title"] == "Shop <status>"
    assert page["monitors"] == [str(a.public_id), str(b.public_id)]
    # Owner A cannot put B's owner's monitor on a page: the same 404 as no monitor at all.
    async with srv.session.post(url, json={"monitors": [str(c.public_id)]}, headers=auth) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "monitor_not_found"
    async with srv.session.post(url, json={"slug": "Not A Slug"}, headers=auth) as r:
        assert r.status == 400
    async with srv.session.post(url, json={"slug": "wallet-page"}, headers=other_auth) as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "slug_taken"
    async with srv.session.post(url, json={}, headers=auth) as r:
        assert r.status == 201
        random = (await r.json())["status_page"]
    assert len(random["slug"]) == 24 and random["monitors"] == []  # all of the owner's
    async with srv.session.get(url, headers=auth) as r:
        assert [p["slug"] for p in (await r.json())["status_pages"]] == ["wallet-page",
                                                                        random["slug"]]
    async with srv.session.get(url, headers=other_auth) as r:
        assert r.status == 200 and (await r.json())["status_pages"] == []
    async with srv.session.get(url, headers={"Authorization": "Bearer made-up"}) as r:
        assert r.status == 404
    assert await srv.pool.fetchval("SELECT count(*) FROM status_pages") == 2
    async with srv.session.delete(f"{url}/wallet-page", headers=other_auth) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "status_page_not_found"
    async with srv.session.delete(f"{url}/wallet-page", headers=auth) as r:
        assert r.status == 200 and await r.json() == {"deleted": "wallet-page"}
    async with srv.session.delete(f"{url}/wallet-page", headers=auth) as r:
        assert r.status == 404


async def test_a_plan_without_status_pages_is_refused(
    srv: Server, service: MonitorService, target: Target,
) -> None:
    _m, auth = await _bought(service, WALLET, target, "small", plan="basic")
    async with srv.session.post(f"{srv.url}/v1/status-pages", json={}, headers=auth) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "tier_feature_unavailable"
    assert await srv.pool.fetchval("SELECT count(*) FROM status_pages") == 0
