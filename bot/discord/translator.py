"""Slash-command names, descriptions and choices from the same Babel catalog as replies."""

from __future__ import annotations

from discord import Locale, app_commands
from lighthouse.core.i18n import to_lang, translations

# What Discord calls Spanish: es-ES (Spain) and es-419 (Latin America). There is no
# Locale.spanish.
SPANISH_LOCALES = (Locale.spain_spanish, Locale.latin_american_spanish)


class BabelTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        lang = to_lang(locale.value)
        if lang == "en":
            return None  # English is the source: no localization
        out = translations(lang).gettext(string.message)
        return out if out != string.message else None
