"""``lighthouse status create|list|remove`` as the installed console script against this
test's PostgreSQL: the operator publishes a page, lists it, is refused a bad or taken slug."""

from __future__ import annotations

from adminkit import clean_env, cli


async def test_status_create_list_remove(dsn: str) -> None:
    env = clean_env(DATABASE_URL=dsn, LIGHTHOUSE_ALLOW_PRIVATE_TARGETS="1")
    assert (await cli("monitor", "add", "tcp://127.0.0.1:9", "--name", "db", env=env)).code == 0
    made = await cli("status", "create", "db", "--slug", "ops-page", "--title", "Ops", "--json",
                     env=env)
    assert made.code == 0, made.out
    page = made.json()["status_page"]
    assert page["slug"] == "ops-page" and page["url"].endswith("/status/ops-page")
    assert len(page["monitors"]) == 1  # public ids, as the API gives them
    randomly = await cli("status", "create", env=env)
    assert randomly.code == 0 and "/status/" in randomly.out
    listed = await cli("status", "list", "--json", env=env)
    assert len(listed.json()["status_pages"]) == 2
    assert listed.json()["status_pages"][0]["slug"] == "ops-page"
    taken = await cli("status", "create", "--slug", "ops-page", env=env)
    assert taken.code == 2 and "taken" in taken.err
    bad = await cli("status", "create", "--slug", "No!", env={**env, "LANG": "es_ES.UTF-8"})
    assert bad.code == 2 and "minúsculas" in bad.err
    assert (await cli("status", "remove", "ops-page", env=env)).code == 0
    gone = await cli("status", "remove", "ops-page", env=env)
    assert gone.code != 0 and "lighthouse status list" in gone.err
