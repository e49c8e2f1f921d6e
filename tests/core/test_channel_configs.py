"""Alert-channel configs: every registered kind honours the contract, and the configs the
delivery code and the chat adapters write are ones the models accept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from lighthouse.core.alerts.channels import (
    ChannelConfig,
    channel_config_model,
    channel_config_schemas,
    channel_kinds,
    parse_channel_config,
)
from lighthouse.core.alerts.channels.base import Delivery, Outcome
from lighthouse.core.alerts.channels.config import MAX_URL_LENGTH, read_config
from lighthouse.core.alerts.channels.discord_dm import (
    DiscordDMChannel,
    SendResult,
    SendStatus,
)
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.telegram import (
    TelegramChannel,
    TelegramSendResult,
    TelegramSendStatus,
)
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.alerts.render import render
from lighthouse.core.errors import InvalidURLError, UnknownChannelKindError, ValidationError
from pydantic import SecretStr

KINDS = channel_kinds()
MARKER = "hunter2-MARKER-never-shown"


def delivery(config: dict[str, Any], kind: str = "x") -> Delivery:
    payload = {"kind": "down", "monitor_name": "api", "target": "https://x.io", "error": "timeout"}
    return Delivery(
        outbox_id=1, alert_id=1, idempotency_key="m1:v1:down", alert_type="downtime",
        severity="critical", payload=payload, rendered=render("downtime", "critical", payload, "en"),
        channel_id=9, channel_kind=kind, channel_config=config, attempt=1,
    )


def with_secrets(kind: str) -> tuple[dict[str, Any], list[str]]:
    """The kind's example with every secret field set to a recognisable value."""
    model = channel_config_model(kind)
    raw = dict(model.example())
    values = []
    for i, name in enumerate(sorted(model.secret_fields())):
        example = raw.get(name)
        if name in model.url_fields():
            value = f"https://example.com/{MARKER}{i}"
        elif isinstance(example, str) and "://" in example:
            # A URL in its own scheme (an Apprise URL): the marker goes into its path so
            # the kind's parser still accepts it.
            value = f"{example.rstrip('/')}/{MARKER}{i}"
        else:
            value = f"{MARKER}{i}"
        raw[name] = value
        values.append(value)
    return raw, values


# --- the contract, over whatever is registered ----------------------------------------
def test_registry_is_not_empty_and_names_are_stable() -> None:
    assert sorted(set(KINDS)) == KINDS and len(KINDS) >= 1
    assert set(channel_config_schemas()) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_a_strict_model_and_a_json_schema(kind: str) -> None:
    model = channel_config_model(kind)
    assert issubclass(model, ChannelConfig)
    assert model.model_config.get("extra") == "forbid" and model.model_config.get("strict")
    schema = channel_config_schemas()[kind]
    json.dumps(schema)  # OpenAPI embeds it as JSON
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(model.model_fields)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("readOnly", False) is model.chat_only


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_accepts_its_example_and_round_trips_what_it_stores(kind: str) -> None:
    model = channel_config_model(kind)
    raw, _ = with_secrets(kind)
    jsonschema.validate(raw, channel_config_schemas()[kind])
    parsed = parse_channel_config(kind, raw, trusted=True)
    assert isinstance(parsed, model)
    stored = parsed.stored()
    assert stored == raw  # what the caller gave, secrets included, nothing added
    assert json.loads(json.dumps(stored)) == stored
    assert parse_channel_config(kind, stored, trusted=True) == parsed
    # The delivery path reads the same stored JSON without complaint.
    assert read_config(model, delivery(stored, kind)) == parsed
    if not model.chat_only:
        assert parse_channel_config(kind, raw) == parsed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("garbage", [
    {}, {"garbage": 1}, [], "https://example.com", None, 42, {"url": None, "chat_id": None},
])
def test_each_kind_refuses_an_empty_or_garbage_config(kind: str, garbage: Any) -> None:
    with pytest.raises(ValidationError) as info:
        parse_channel_config(kind, garbage, trusted=True)
    assert info.value.code in ("invalid_input", "invalid_url")
    assert info.value.params["field"] and info.value.params["reason"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_refuses_unknown_keys_and_loose_types(kind: str) -> None:
    model = channel_config_model(kind)
    example = model.example()
    with pytest.raises(ValidationError) as info:
        parse_channel_config(kind, {**example, "unexpected": True}, trusted=True)
    assert info.value.params == {"field": "unexpected", "reason": "extra_forbidden",
                                 "channel": kind}
    # Strict: a number where a string is due (or a string for a number) is refused.
    first = next(iter(example))
    value = example[first]
    loose = str(value) if isinstance(value, int) else 12345
    with pytest.raises(ValidationError) as info:
        parse_channel_config(kind, {**example, first: loose}, trusted=True)
    assert info.value.params["field"] == first


@pytest.mark.parametrize("kind", KINDS)
def test_each_url_field_accepts_only_bounded_http_urls(kind: str) -> None:
    model = channel_config_model(kind)
    for name in model.url_fields():
        base = model.example()
        for bad, reason in [
            ("ftp://example.com/hook", "scheme"), ("file:///etc/passwd", "scheme"),
            ("javascript:alert(1)", "scheme"), ("https://", "no_host"),
            ("https://example.com:99999/", "port"), (" https://example.com/", "malformed"),
            ("https://example.com/\nX-Injected: 1", "malformed"),
            ("https://example.com/" + "a" * MAX_URL_LENGTH, "too_long"),
        ]:
            with pytest.raises(InvalidURLError) as info:
                parse_channel_config(kind, {**base, name: bad}, trusted=True)
            assert (info.value.code, info.value.params["field"]) == ("invalid_url", name)
            assert info.value.params["reason"] == reason, bad
            if name in model.secret_fields():
                assert bad not in json.dumps(info.value.to_dict())
        for good in ("http://example.com/x", "https://example.com:8443/a?b=c"):
            parse_channel_config(kind, {**base, name: good}, trusted=True)


@pytest.mark.parametrize("kind", KINDS)
def test_each_secret_stays_out_of_reprs_dumps_and_errors(kind: str) -> None:
    raw, secrets = with_secrets(kind)
    parsed = parse_channel_config(kind, raw, trusted=True)
    d = delivery(parsed.stored(), kind)
    shown = " ".join([repr(parsed), str(parsed), parsed.model_dump_json(),
                      json.dumps(parsed.model_dump(mode="json")), repr(d)])
    for secret in secrets:
        assert secret not in shown
        assert secret in json.dumps(parsed.stored())
    # A refused config does not quote the secret back either.
    for name in channel_config_model(kind).secret_fields():
        try:
            parse_channel_config(kind, {**raw, name: MARKER * 200}, trusted=True)
        except ValidationError as exc:
            assert MARKER not in json.dumps(exc.to_dict(), default=str)
        else:
            pytest.fail(f"{kind}.{name}: an overlong secret was accepted")


@pytest.mark.parametrize("kind", KINDS)
def test_untrusted_input_cannot_set_what_lighthouse_sets(kind: str) -> None:
    model = channel_config_model(kind)
    if model.chat_only:
        with pytest.raises(ValidationError) as info:
            parse_channel_config(kind, model.example())
        assert info.value.params["field"] == "kind"
        assert info.value.params["reason"] == "chat_only"
        return
    for name in model.read_only_fields():
        with pytest.raises(ValidationError) as info:
            parse_channel_config(kind, {**model.example(), name: True})
        assert info.value.params == {"field": name, "reason": "read_only", "channel": kind}


@pytest.mark.parametrize("kind", KINDS)
def test_a_broken_stored_config_disables_the_channel_without_sending(kind: str) -> None:
    model = channel_config_model(kind)
    for broken in ({}, {**model.example(), next(iter(model.example())): None}):
        result = read_config(model, delivery(broken, kind))
        assert not isinstance(result, ChannelConfig)
        assert result.outcome is Outcome.PERMANENT and result.disable_channel
        assert result.error is not None and result.error.startswith("invalid_config: ")


# --- specific rules -------------------------------------------------------------------
def test_unknown_kind_is_a_typed_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownChannelKindError) as info:
        parse_channel_config("pigeon", {"url": "https://example.com"})
    assert info.value.code == "unknown_channel_kind"
    assert info.value.params == {"kind": "pigeon", "known": KINDS}
    assert isinstance(info.value, ValidationError)  # API answers 400, chat localizes by code


def test_webhook_without_url_is_refused_at_creation() -> None:
    for kind in ("webhook", "discord_webhook"):
        with pytest.raises(ValidationError) as info:
            parse_channel_config(kind, {})
        assert (info.value.code, info.value.params) == (
            "invalid_input", {"field": "url", "reason": "missing", "channel": kind})
    with pytest.raises(ValidationError):
        parse_channel_config("webhook", {"secret": "s3cret"})


def test_non_http_webhook_url_is_refused_and_quoted_unless_secret() -> None:
    with pytest.raises(InvalidURLError) as info:
        parse_channel_config("webhook", {"url": "gopher://example.com/"})
    assert info.value.params == {"field": "url", "reason": "scheme", "channel": "webhook",
                                 "url": "gopher://example.com/"}
    with pytest.raises(InvalidURLError) as info:
        parse_channel_config("discord_webhook", {"url": "ftp://discord.com/api/webhooks/1/tok"})
    assert info.value.params == {"field": "url", "reason": "scheme",  # the URL is the token
                                 "channel": "discord_webhook"}


def test_webhook_secret_is_masked_everywhere_but_the_stored_config() -> None:
    parsed = parse_channel_config(
        "webhook", {"url": "https://example.com/hook", "secret": "s3cret-signing-key"})
    assert "s3cret-signing-key" not in repr(parsed) + parsed.model_dump_json()
    assert parsed.stored() == {"url": "https://example.com/hook", "secret": "s3cret-signing-key"}
    with pytest.raises(ValidationError) as info:
        parse_channel_config("webhook", {"url": "https://example.com/hook", "secret": ""})
    assert info.value.params["field"] == "secret"


def test_operator_channel_marker_is_valid_stored_but_not_user_settable() -> None:
    # As lighthouse/runtime.py's sync_operator_channels stores it.
    operator = parse_channel_config("discord_webhook", {"from_settings": True}, trusted=True)
    assert operator.stored() == {"from_settings": True}
    with pytest.raises(ValidationError) as info:
        parse_channel_config("discord_webhook", {"from_settings": True})
    assert info.value.params == {"field": "from_settings", "reason": "read_only",
                                 "channel": "discord_webhook"}
    with pytest.raises(ValidationError):
        parse_channel_config("discord_webhook", {"from_settings": True,
                                                 "url": "https://example.com/x"}, trusted=True)


def test_chat_adapter_shapes_validate() -> None:
    """The configs bot/commands.py builds today, and the telegram migration update."""
    for kind, raw in [
        ("discord_dm", {"user_id": "111", "dm_channel_id": "222"}),
        ("discord_dm", {"user_id": "111", "dm_channel_id": "222", "fallback_channel_id": "333",
                        "guild_id": "444"}),
        ("discord_channel", {"channel_id": "333", "guild_id": "444"}),
        ("telegram", {"chat_id": 7, "private": True}),
        ("telegram", {"chat_id": -1001234567890, "private": False}),
    ]:
        assert parse_channel_config(kind, raw, trusted=True).stored() == raw
    for kind, raw in [("telegram", {"chat_id": 0}), ("telegram", {"chat_id": True}),
                      ("discord_dm", {"user_id": 111}), ("discord_dm", {"user_id": "-1"}),
                      ("discord_channel", {"channel_id": "12ab"})]:
        with pytest.raises(ValidationError):
            parse_channel_config(kind, raw, trusted=True)


@dataclass
class RefusingDiscord:
    dm: list[SendResult] = field(default_factory=list)

    async def send_dm(self, user_id: int, delivery: Delivery, *, nonce: str,
                      dm_channel_id: int | None) -> SendResult:
        return self.dm.pop(0) if self.dm else SendResult.sent(dm_channel_id or 77)

    async def send_to_channel(self, channel_id: int, delivery: Delivery, *, nonce: str,
                              mention_user_id: int | None) -> SendResult:
        return SendResult.sent()


async def test_configs_written_back_by_delivery_validate_and_keep_unknown_keys() -> None:
    ch = DiscordDMChannel(RefusingDiscord(dm=[SendResult(SendStatus.REFUSED, "50007")]))
    # "later_flag": written by a newer process during a rolling upgrade.
    stored = {"user_id": "5", "fallback_channel_id": "6", "later_flag": 1}
    r = await ch.deliver(delivery(stored))
    assert r.outcome is Outcome.DELIVERED and r.new_config is not None
    assert r.new_config["later_flag"] == 1 and "dm_refused_at" in r.new_config
    flagged = {k: v for k, v in r.new_config.items() if k != "later_flag"}
    parse_channel_config("discord_dm", flagged, trusted=True)
    r = await ch.deliver(delivery(r.new_config))  # DMs work again: flag gone, id kept
    assert r.new_config == {"user_id": "5", "fallback_channel_id": "6", "later_flag": 1,
                            "dm_channel_id": "77"}

    class Migrating:
        async def send_alert(self, chat_id: int, delivery: Delivery) -> TelegramSendResult:
            if chat_id == -5:
                return TelegramSendResult(TelegramSendStatus.MIGRATED, new_chat_id=-1005)
            return TelegramSendResult.sent()

    r = await TelegramChannel(Migrating()).deliver(delivery({"chat_id": -5, "private": False}))
    assert r.outcome is Outcome.DELIVERED and r.new_config is not None
    assert parse_channel_config("telegram", r.new_config, trusted=True).stored() == {
        "chat_id": -1005, "private": False}


@dataclass
class Hook:
    bodies: list[bytes] = field(default_factory=list)
    url: str = ""


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook()

    async def handle(request: web.Request) -> web.Response:
        h.bodies.append(await request.read())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    h.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield h
    await runner.cleanup()


async def test_http_channels_read_their_config_through_the_model(hook: Hook) -> None:
    async with aiohttp.ClientSession() as session:
        webhook = WebhookChannel(session)
        r = await webhook.deliver(delivery({"url": "ftp://127.0.0.1/hook"}, "webhook"))
        assert (r.outcome, r.disable_channel) == (Outcome.PERMANENT, True)
        assert r.error == "invalid_config: url: url_scheme"
        r = await webhook.deliver(delivery({"url": hook.url, "secret": 5}, "webhook"))
        assert r.outcome is Outcome.PERMANENT and r.error == "invalid_config: secret: string_type"
        assert hook.bodies == []
        r = await webhook.deliver(delivery({"url": hook.url}, "webhook"))  # unsigned
        assert r.outcome is Outcome.DELIVERED and len(hook.bodies) == 1

        operator = DiscordWebhookChannel(session, default_url=hook.url)
        r = await operator.deliver(delivery({"from_settings": True}, "discord_webhook"))
        assert r.outcome is Outcome.DELIVERED and len(hook.bodies) == 2
        unset = DiscordWebhookChannel(session, default_url=None)
        r = await unset.deliver(delivery({"from_settings": True}, "discord_webhook"))
        # The operator unset the variable: fail the alert, keep the channel for later.
        assert (r.outcome, r.disable_channel) == (Outcome.PERMANENT, False)
        r = await unset.deliver(delivery({"url": hook.url}, "discord_webhook"))
        assert r.outcome is Outcome.DELIVERED and len(hook.bodies) == 3
        r = await unset.deliver(delivery({}, "discord_webhook"))
        assert (r.outcome, r.disable_channel) == (Outcome.PERMANENT, True)
        assert r.error == "invalid_config: url: missing"


def test_secret_fields_are_secret_types() -> None:
    for kind in KINDS:
        raw, _ = with_secrets(kind)
        parsed = parse_channel_config(kind, raw, trusted=True)
        for name in type(parsed).secret_fields():
            assert isinstance(getattr(parsed, name), SecretStr)


async def test_service_refuses_a_webhook_without_url_at_creation_and_stores_nothing(
        service: Any, pool: Any) -> None:
    from lighthouse.bot import texts
    from lighthouse.core.models import Identity, Provider

    who = Identity(Provider.API, "channels")
    with pytest.raises(ValidationError) as info:
        await service.add_channel(who, "webhook", {"secret": "s3cret-signing-key"})
    assert await pool.fetchval("SELECT count(*) FROM alert_channels") == 0
    assert texts.error("es", info.value) == "El canal de alertas webhook necesita url."
    assert texts.error("en", info.value) == "The webhook alert channel needs url."
    with pytest.raises(ValidationError) as info:
        await service.add_channel(who, "telegram", {"chat_id": 42})
    assert info.value.params["reason"] == "chat_only"
    channel_id = await service.add_channel(
        who, "webhook", {"url": "https://example.com/hook", "secret": "s3cret-signing-key"})
    stored = await pool.fetchval("SELECT config FROM alert_channels WHERE id = $1", channel_id)
    assert stored == {"url": "https://example.com/hook", "secret": "s3cret-signing-key"}
