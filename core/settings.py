"""Operator settings: read from the environment once, validated into one object.

A bad or missing value stops start-up with a single line naming the variable
(``ConfigurationError``). Secrets are ``SecretStr`` so they never show in logs
or reprs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from lighthouse.core.errors import ConfigurationError
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PRIVATE_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

Port = Annotated[int, Field(ge=0, le=65535)]
DEFAULT_CONFIG_FILE = Path("lighthouse.yaml")


def _check_url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=False, populate_by_name=True
    )

    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")

    usdc_contract_address: str | None = Field(default=None, validation_alias="USDC_CONTRACT_ADDRESS")
    rpc_url_fuji: str | None = Field(default=None, validation_alias="RPC_URL_FUJI")
    rpc_url_base_sepolia: str | None = Field(default=None, validation_alias="RPC_URL_BASE_SEPOLIA")
    facilitator_url: str | None = Field(
        default=None, validation_alias=AliasChoices("FACILITATOR_URL", "X402_FACILITATOR_URL")
    )
    private_key: SecretStr | None = Field(default=None, validation_alias="PRIVATE_KEY")
    payment_address: str | None = Field(default=None, validation_alias="PAYMENT_ADDRESS")
    public_base_url: str | None = Field(default=None, validation_alias="PUBLIC_BASE_URL")

    discord_webhook_url: SecretStr | None = Field(default=None, validation_alias="DISCORD_WEBHOOK_URL")
    discord_bot_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_BOT_TOKEN")
    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", validation_alias="TELEGRAM_API_BASE_URL"
    )

    # Loopback by default: a laptop run is not reachable from the network unless asked;
    # the container image sets 0.0.0.0 (Dockerfile), where the port mapping decides.
    api_host: str = Field(default="127.0.0.1", validation_alias="API_HOST")
    api_port: Port = Field(default=8080, validation_alias=AliasChoices("API_PORT", "PORT"))
    metrics_port: Port = Field(default=9090, validation_alias="METRICS_PORT")
    data_dir: Path = Field(default=Path(".lighthouse"), validation_alias="LIGHTHOUSE_DATA_DIR")
    allow_private_targets: bool = Field(
        default=False, validation_alias="LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"
    )
    # The monitors-as-code file (core/config_file/), applied at start, on SIGHUP and by
    # `lighthouse apply`. Unset: ./lighthouse.yaml when that file exists, else none.
    config_file: Path | None = Field(default=None, validate_default=True,
                                     validation_alias="LIGHTHOUSE_CONFIG")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # json: one object per line (collectors); text: human lines; auto: text on a terminal.
    log_format: str = Field(default="auto", validation_alias="LOG_FORMAT")

    # --- operator defaults (core/service/policy.py) ---------------------------------------
    # The plan chat users get on this instance; a public instance keeps free.
    default_tier: str = Field(default="free", validation_alias="LIGHTHOUSE_DEFAULT_TIER")
    # Chat users who may change plans from chat: "discord:123,telegram:456".
    admins: str = Field(default="", validation_alias="LIGHTHOUSE_ADMINS")

    # Scheduler knobs: the defaults fit 10,000 monitors at 30 s on 2 cores.
    max_concurrent_checks: int = Field(
        default=500, ge=1, le=20000, validation_alias="LIGHTHOUSE_MAX_CONCURRENT_CHECKS"
    )
    per_host_concurrency: int = Field(
        default=20, ge=1, le=10000, validation_alias="LIGHTHOUSE_PER_HOST_CONCURRENCY"
    )
    tick_s: float = Field(default=0.25, gt=0, le=10, validation_alias="LIGHTHOUSE_TICK_S")
    instance_id: str | None = Field(default=None, validation_alias="LIGHTHOUSE_INSTANCE_ID")
    # The chat bots run in one `lighthouse run` process at a time (core/leader.py): the
    # lease it holds, and so how long a standby waits after the holder has crashed.
    leader_lease_s: float = Field(default=10.0, ge=1, le=300,
                                  validation_alias="LIGHTHOUSE_LEADER_LEASE_S")
    # The Ed25519 key that signs check results (docs/signing.md): PEM, or base64 of PEM,
    # PKCS#8 DER or the 32-byte seed. Unset: a key generated into the data dir.
    signing_key: SecretStr | None = Field(default=None, validation_alias="LIGHTHOUSE_SIGNING_KEY")
    # Fernet keys that encrypt alert-channel secrets at rest (core/secretbox.py), comma-
    # separated, the first encrypts. Unset: a key generated into the data dir.
    secret_key: SecretStr | None = Field(default=None, validation_alias="LIGHTHOUSE_SECRET_KEY")

    # --- chat bots (bot/) -------------------------------------------------------------
    # Telegram webhook mode: set the public HTTPS URL that reaches this server's
    # /telegram/webhook route (Telegram delivers to ports 443, 80, 88, 8443); unset: polling.
    telegram_webhook_url: str | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )
    # Telegram's bot-wide flood limit (messages/s); 1000 with paid broadcasts.
    telegram_max_messages_per_second: float = Field(
        default=30.0, gt=0, le=1000, validation_alias="TELEGRAM_MAX_MESSAGES_PER_SECOND"
    )
    # PUT the slash commands at start when their payload changed since the last sync.
    discord_sync_commands: bool = Field(default=True, validation_alias="DISCORD_SYNC_COMMANDS")

    @field_validator("usdc_contract_address", "payment_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not _ADDRESS.match(value):
            raise ValueError("expected a 0x-prefixed 20-byte hex address")
        return value

    @field_validator("discord_bot_token", "telegram_bot_token", mode="after")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # docker compose passes unset variables as empty strings: that means "not set".
        if value is None or not value.get_secret_value().strip():
            return None
        return value

    @field_validator("private_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not _PRIVATE_KEY.match(value.get_secret_value()):
            raise ValueError("expected a 32-byte hex private key")
        return value

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from lighthouse.core.signing import parse_private_key

        parse_private_key(value.get_secret_value())  # its ValueError names what is expected
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from lighthouse.core.secretbox import parse_keys

        parse_keys(value.get_secret_value())  # its ValueError names what is expected
        return value

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        _check_url(value.get_secret_value(), ("postgres", "postgresql"))
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        _check_url(value.get_secret_value(), ("redis", "rediss", "unix"))
        return value

    @field_validator("discord_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        _check_url(value.get_secret_value(), ("https", "http"))
        return value

    @field_validator("rpc_url_fuji", "rpc_url_base_sepolia", "facilitator_url", "public_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value, ("https", "http"))

    @field_validator("telegram_webhook_url")
    @classmethod
    def _tg_webhook(cls, value: str | None) -> str | None:
        return _check_url(value, ("https",))

    @field_validator("telegram_api_base_url")
    @classmethod
    def _tg(cls, value: str) -> str:
        _check_url(value, ("https", "http"))
        return value.rstrip("/")

    @field_validator("config_file", mode="before")
    @classmethod
    def _config_file(cls, value: Any) -> Any:
        # docker compose passes an unset variable as "": that means "not set" too.
        if value is None or value == "":
            return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
        if not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
        return value

    @field_validator("log_format")
    @classmethod
    def _fmt(cls, value: str) -> str:
        value = value.strip().lower() or "auto"
        if value not in {"json", "text", "auto"}:
            raise ValueError("expected json, text or auto")
        return value

    @field_validator("default_tier")
    @classmethod
    def _default_tier(cls, value: str) -> str:
        from lighthouse.core.tiers import TierName

        value = value.strip().lower() or TierName.FREE.value
        known = [t.value for t in TierName]
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}")
        return value

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: str) -> str:
        from lighthouse.core.service.policy import parse_admins

        parse_admins(value)  # raises ValueError naming the bad entry
        return value


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return first if isinstance(first, str) else field.upper()
    return field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; raise ConfigurationError naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else "?"
        name = _env_name(loc) if loc in Settings.model_fields else loc
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"{name}: {msg}") from None
