"""Message catalogs: English source strings, Spanish from locales/es/LC_MESSAGES/messages.po.

The .po files are compiled in memory at first use (a few ms), so a checkout runs
without a build step; a compiled .mo next to the .po (the Docker image) is used
when present.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any, Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

# The one list of languages (chat, API, alerts); a new one is a catalog plus this line.
Language = Literal["en", "es"]
SUPPORTED: tuple[str, ...] = get_args(Language)
DEFAULT = "en"


def to_lang(tag: str | None) -> str:
    """Map a client locale (Discord 'es-ES'/'es-419', Telegram 'es', 'pt-br', None) to en/es."""
    lang = (tag or "").replace("_", "-").split("-")[0].lower()
    return lang if lang in SUPPORTED else DEFAULT


@functools.cache
def translations(lang: str) -> NullTranslations:
    if lang == "en" or lang not in SUPPORTED:
        return NullTranslations()
    folder = resources.files("lighthouse.locales").joinpath(lang, "LC_MESSAGES")
    mo = folder.joinpath("messages.mo")
    if mo.is_file():
        with mo.open("rb") as fp:
            return Translations(fp=fp, domain="messages")
    po = folder.joinpath("messages.po")
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def format_duration(lang: str, delta: timedelta) -> str:
    """A compact outage length like '1 h 35 min' / '2 d 3 h' (Babel rounds to one unit)."""
    total = int(delta.total_seconds())
    if total < 60:
        return ngettext(lang, "%(num)d second", "%(num)d seconds", total) % {"num": total}
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts: list[str] = []
    if days:
        parts.append(ngettext(lang, "%(num)d day", "%(num)d days", days) % {"num": days})
    if hours:
        parts.append(ngettext(lang, "%(num)d hour", "%(num)d hours", hours) % {"num": hours})
    if minutes and not days:
        parts.append(ngettext(lang, "%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes})
    return " ".join(parts)


@dataclass(frozen=True)
class Message:
    """A sentence said later, in the language known then: a msgid and its values.

    For text made where the reader's language is unknown (core/config_file/ reads a file
    before anyone says who will read the problems). Mark the msgid for the catalog with
    ``message`` imported as ``_``: ``_("no monitor {ref} in this file", ref=ref)``.
    """

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()  # (name, value): a Message is hashable

    def render(self, lang: str) -> str:
        return gettext(lang, self.msgid).format(**dict(self.params))

    def __str__(self) -> str:
        return self.render(DEFAULT)


def message(msgid: str, /, **params: Any) -> Message:
    return Message(msgid, tuple(params.items()))


def verbatim(text: str) -> Message:
    """Text that is the same in every language (a value, another program's words)."""
    return Message("{text}", (("text", text),))
