"""What this instance's operator decided: the plan chat users start on, who may change
plans from chat, and how a user upgrades here.

Built once from the settings by the composition root (``policy_from_settings``) and
handed to ``MonitorService``, which applies it; adapters only render its answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lighthouse.core.errors import ValidationError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.tiers import TierName

if TYPE_CHECKING:
    from lighthouse.core.settings import Settings

# The person who runs the instance (admin CLI, monitors-as-code file): one user, so what
# the CLI adds and what the file adds are listed together.
OPERATOR = Identity(Provider.OPERATOR, "admin")

# Whose plan the instance's default raises: people who reach the instance from chat. A
# wallet or API buyer pays for exactly what they get.
CHAT_PROVIDERS = frozenset({Provider.DISCORD, Provider.TELEGRAM})
# Whose plan an admin may set: chat users, and wallets (the same person may pay later).
TIERED_PROVIDERS = frozenset({*CHAT_PROVIDERS, Provider.WALLET})

# Plans from lowest to highest, so a default can act as a floor.
TIER_ORDER: tuple[TierName, ...] = tuple(TierName)


def tier_rank(name: str) -> int:
    try:
        return TIER_ORDER.index(TierName(name))
    except ValueError:
        return 0


def parse_identity(text: str, default_provider: Provider | None = None) -> Identity:
    """``discord:1234``, ``telegram:55``, ``wallet:0xabc...``; a bare id when the caller
    knows the platform (an admin in Telegram naming a Telegram user)."""
    raw = text.strip()
    provider_name, sep, subject = raw.partition(":")
    if not sep:
        if default_provider is None:
            raise ValidationError("expected provider:id, e.g. discord:1234", field="user",
                                  reason="format", value=raw[:80])
        provider_name, subject = default_provider.value, raw
    subject = subject.strip()
    if subject.startswith("<@") and subject.endswith(">"):  # a pasted Discord mention
        subject = subject[2:-1].lstrip("!")
    try:
        provider = Provider(provider_name.strip().lower())
    except ValueError:
        raise ValidationError("unknown provider", field="user", reason="provider",
                              value=raw[:80], known=sorted(p.value for p in TIERED_PROVIDERS)
                              ) from None
    if provider not in TIERED_PROVIDERS:
        raise ValidationError("plans are set for chat users and wallets", field="user",
                              reason="provider", value=raw[:80],
                              known=sorted(p.value for p in TIERED_PROVIDERS))
    if provider is Provider.WALLET:
        ok = len(subject) == 42 and subject.startswith("0x") and all(
            c in "0123456789abcdefABCDEF" for c in subject[2:])
    else:  # Discord snowflakes and Telegram user ids are positive integers
        ok = subject.isascii() and subject.isdigit() and 0 < len(subject) <= 20
    if not ok:
        raise ValidationError("not a valid user id", field="user", reason="format",
                              value=raw[:80])
    return Identity(provider, subject)


def parse_admins(text: str) -> frozenset[Identity]:
    """LIGHTHOUSE_ADMINS: comma- or space-separated chat ids; ValueError names a bad one."""
    admins: set[Identity] = set()
    for entry in text.replace(",", " ").split():
        try:
            who = parse_identity(entry)
        except ValidationError:
            raise ValueError(f"{entry!r} is not discord:<id> or telegram:<id>") from None
        if who.provider not in CHAT_PROVIDERS:
            raise ValueError(f"{entry!r} is not discord:<id> or telegram:<id>")
        admins.add(who)
    return frozenset(admins)


@dataclass(frozen=True)
class InstancePolicy:
    """The operator's choices. The defaults are a public instance's: chat users start on
    Free, nobody changes plans from chat, upgrades go through the operator."""

    default_tier: TierName = TierName.FREE
    admins: frozenset[Identity] = field(default_factory=frozenset)
    # The operator adds what the instance needs; the plans exist to share it with others.
    operator_tier: TierName = TierName.ENTERPRISE
    # Where paid plans are bought (x402), when payments are configured and reachable.
    pricing_url: str | None = None

    def floor(self, who: Identity) -> TierName:
        """The lowest plan ``who`` can have on this instance."""
        if who.provider is Provider.OPERATOR:
            return self.operator_tier
        if who.provider in CHAT_PROVIDERS:
            return self.default_tier
        return TierName.FREE

    def is_admin(self, who: Identity) -> bool:
        return who.provider is Provider.OPERATOR or who in self.admins


def policy_from_settings(settings: Settings) -> InstancePolicy:
    pricing = None
    if settings.payment_address and settings.public_base_url:
        # A chat user cannot pay from chat; the public pricing page says what to buy and
        # how (only a public base URL is reachable from their side).
        pricing = settings.public_base_url.rstrip("/") + "/v1/pricing"
    return InstancePolicy(
        default_tier=TierName(settings.default_tier),
        admins=parse_admins(settings.admins),
        pricing_url=pricing,
    )
