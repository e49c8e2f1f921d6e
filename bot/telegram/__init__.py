"""The Telegram adapter (python-telegram-bot 22.x): commands, inline keyboards, alerts."""
