"""Secrets of alert channels, encrypted at rest.

A channel's secret fields (the ones its config model marks ``writeOnly``: a webhook's
signing secret, a Discord webhook URL, an Apprise URL with its password) are stored as
``lhenc:v1:<Fernet token>`` inside ``alert_channels.config``; every other field stays
plain JSON, so SQL can still find a channel by its chat ids.

Fernet (the ``cryptography`` package, already a dependency for result signing) is
AES-128-CBC with HMAC-SHA256 and a timestamp, one call each way, reviewed and maintained;
``MultiFernet`` decrypts with any of several keys and encrypts with the first, which is
key rotation without a migration. Writing that ourselves would be the mistake.

Keys: ``LIGHTHOUSE_SECRET_KEY`` (one or more Fernet keys, comma-separated, the first
encrypts), else ``secret.key`` in the data dir; with the embedded database it is generated
there on first use (mode 0600; the operator is told to back it up with the database). With
an external DATABASE_URL nothing is generated (processes on other machines would each make
their own): secrets stay plaintext, with a warning at every start, until the key is set.
A value without the prefix is a row from before encryption: read as it is, and encrypted
the next time it is written (``reseal`` at start does all).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

log = logging.getLogger("lighthouse")

PREFIX = "lhenc:v1:"
KEY_FILE = "secret.key"


class SecretUnreadable(Exception):
    """A stored secret none of the configured keys opens (the key changed or was lost)."""


def parse_keys(text: str) -> list[bytes]:
    """Comma- or space-separated Fernet keys; ValueError names what is expected."""
    keys = [k.strip().encode() for k in text.replace(",", " ").split() if k.strip()]
    if not keys:
        raise ValueError("LIGHTHOUSE_SECRET_KEY is empty")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ValueError("LIGHTHOUSE_SECRET_KEY: each key is 32 url-safe base64-encoded "
                             "bytes (Fernet.generate_key())") from None
    return keys


class SecretBox:
    """Encrypts and opens the secret fields of channel configs."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._current = Fernet(keys[0])

    @staticmethod
    def is_sealed(value: Any) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def seal(self, value: str) -> str:
        if self.is_sealed(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        if not self.is_sealed(value):
            return value  # stored before encryption
        try:
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("no configured LIGHTHOUSE_SECRET_KEY opens this secret"
                                   ) from None

    def reseal(self, value: str) -> str:
        """Encrypted with the current (first) key: a plaintext value or an older key's."""
        if not self.is_sealed(value):
            return self.seal(value)
        token = value[len(PREFIX):].encode()
        try:
            self._current.decrypt(token)
            return value  # already under the current key: unchanged, so nothing is rewritten
        except InvalidToken:
            pass
        try:
            return PREFIX + self._fernet.rotate(token).decode()
        except InvalidToken:
            raise SecretUnreadable("no configured LIGHTHOUSE_SECRET_KEY opens this secret"
                                   ) from None

    def seal_fields(self, config: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
        return _map_fields(self.seal, config, fields)

    def open_fields(self, config: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
        return _map_fields(self.open, config, fields)

    def reseal_fields(self, config: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
        return _map_fields(self.reseal, config, fields)


def _map_fields(change: Callable[[str], str], config: Mapping[str, Any],
                fields: frozenset[str]) -> dict[str, Any]:
    return {k: change(v) if k in fields and isinstance(v, str) else v for k, v in config.items()}


def open_secrets(box: SecretBox | None, config: Mapping[str, Any],
                 fields: frozenset[str]) -> dict[str, Any]:
    """``config`` with its secret fields readable; without a key, an encrypted one is
    unreadable (never handed on as if the ciphertext were the secret)."""
    if box is not None:
        return box.open_fields(config, fields)
    if any(SecretBox.is_sealed(config.get(f)) for f in fields):
        raise SecretUnreadable("LIGHTHOUSE_SECRET_KEY is unset but this secret is encrypted")
    return dict(config)


def load_secret_box(data_dir: Path, env_key: SecretStr | None, *,
                    generate: bool = True, warn_unset: bool = True) -> SecretBox | None:
    """The key from the environment, else the data dir's key file, else (``generate``: the
    embedded database, whose files live in that same data dir) a new key file there.

    Not ``generate`` (an external DATABASE_URL, shared by processes that may each have a
    data dir of their own): without a key, None, and secrets stay plaintext with a warning;
    a key made here would be one no other process has, and what it encrypted would be lost
    to them. ``warn_unset`` False: a one-shot CLI command, whose output is its answer; the
    serving processes say it at every start."""
    if env_key is not None and env_key.get_secret_value().strip():
        return SecretBox(parse_keys(env_key.get_secret_value()))
    path = data_dir / KEY_FILE
    try:
        return SecretBox(parse_keys(path.read_text()))
    except FileNotFoundError:
        pass
    if not generate:
        if warn_unset:
            log.warning("LIGHTHOUSE_SECRET_KEY is unset: alert-channel secrets are stored "
                        "unencrypted in the database. Set the same LIGHTHOUSE_SECRET_KEY for "
                        "every process (docs/deploy.md).")
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        # O_EXCL: two processes starting at once keep one key (the loser reads the winner's).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretBox(parse_keys(path.read_text()))
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    log.warning(
        "LIGHTHOUSE_SECRET_KEY is unset: generated %s to encrypt alert-channel secrets. Back "
        "it up with the database (without it those secrets cannot be read), and give every "
        "process that shares this database the same key in LIGHTHOUSE_SECRET_KEY.",
        path.resolve(), extra={"path": str(path.resolve())})
    return SecretBox([key])
