"""Every registered check type fulfils the whole contract (core/checks/base.py CheckType).

The list of types comes from the registry, never from this file: a new type is tested
here the moment it is registered.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from babel.messages.pofile import read_po
from lighthouse.core.alerts.render import render
from lighthouse.core.checks import check_types, config_schemas, parse_config, parse_shorthand
from lighthouse.core.checks.base import CheckTypeBase
from lighthouse.core.errors import TierFeatureError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from lighthouse.core.tiers import TIERS
from support.catalog import SPANISH

TYPES = sorted(check_types())


@pytest.mark.parametrize("name", TYPES)
def test_type_declares_every_part(name: str) -> None:
    check = check_types()[name]
    assert check.name == name
    for part in ("config_model", "required_feature", "limit_group", "example", "signal_titles",
                 "from_shorthand", "shorthand", "facts", "describe", "target_host", "preflight",
                 "run"):
        assert hasattr(check, part), f"{name} lacks {part}"
    schema = config_schemas()[name]
    assert schema["type"] == "object" and schema["properties"]
    config = parse_config(name, check.example)
    assert check.describe(config).strip()
    assert isinstance(check.target_host(config), str)  # empty for push types (heartbeat)


@pytest.mark.parametrize("name", TYPES)
def test_chat_reaches_the_type_with_its_json_and_its_shorthand(name: str) -> None:
    check = check_types()[name]
    assert parse_shorthand(f"{name} {json.dumps(check.example)}") == (name, check.example)
    config = parse_config(name, check.example)
    short = check.shorthand(config)
    if short is None:
        # Without a shorthand of its own, a type must not claim text either.
        assert type(check).from_shorthand is CheckTypeBase.from_shorthand or name == "http"
        return
    kind, again = parse_shorthand(short)
    assert kind == name
    assert check.shorthand(parse_config(kind, again)) == short


@pytest.mark.parametrize("name", TYPES)
async def test_feature_gating_follows_the_tier(name: str, service: MonitorService) -> None:
    check = check_types()[name]
    feature = check.required_feature
    lacking = [t for t in TIERS.values() if feature and feature not in t.features]
    if feature:
        assert lacking, f"{name}: every tier has {feature}; declare no feature instead"
        assert any(feature in t.features for t in TIERS.values()), f"no tier sells {feature}"
    for plan in lacking:
        with pytest.raises(TierFeatureError) as info:
            await service.validate_monitor(Identity(Provider.API, "gate"), type=name,
                                           config=check.example, tier_name=plan.name.value)
        assert info.value.params["feature"] == feature
    if check.limit_group:
        assert any(t.group_limit(check.limit_group) is not None for t in TIERS.values()), (
            f"{name}: limit group {check.limit_group} is limited by no tier")


@pytest.mark.parametrize("name", TYPES)
def test_alerts_and_facts_of_the_type_are_translated(name: str) -> None:
    check = check_types()[name]
    for alert_type, title in check.signal_titles.items():
        assert title in SPANISH, f"{name}: signal title {title!r} has no Spanish translation"
        payload: dict[str, Any] = {"monitor_type": name, "monitor_name": "m", "days_left": 3,
                                   "balance": "0.1", "threshold": "0.5", "status_code": 503}
        rendered = render(alert_type, "warning", payload, "es")
        assert rendered.title == SPANISH[title].format(target="m")
    data = {"status_code": 503, "days_left": 3, "balance": "0.1", "threshold": "0.5",
            "details": {}}
    for fact in check.facts(data):
        assert "{value}" in fact.label
        assert fact.label in SPANISH, f"{name}: fact {fact.label!r} has no Spanish translation"
        rendered = render("downtime", "critical", {"monitor_type": name, **data}, "es")
        assert SPANISH[fact.label].format(value=fact.value) in rendered.lines


def test_spanish_catalog_is_read() -> None:
    assert len(SPANISH) > 100 and read_po is not None
