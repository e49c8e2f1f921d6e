"""Signed check results (docs/signing.md): the service's Ed25519 keys and the signer that
the API and ``lighthouse check --sign`` use. The format itself, and its verifier, live in
core/verify.py, which has no service dependencies so that others can copy it.

Results are signed when they are served, not when they are written. Only a small share of
results is ever read back through the API, so signing at write time would spend CPU on
every check and 100-odd bytes per history row for signatures nobody asks for; and a key
rotation would leave stored signatures under retired keys. A history row therefore keeps
what the signature needs (its worker id, sql/0012_history_worker.sql), and the signature
is made per response. Ed25519 is deterministic: the same record, key and ``signed_at``
always give the same signature bytes.

Keys: a keyring file in the data dir (``signing-keys.json``, mode 0600) holds the current
private key and the public part of every retired one, with its validity window, so that
results signed before a rotation still verify. ``LIGHTHOUSE_SIGNING_KEY`` replaces the
file's private key (several instances behind one URL must sign with the same key); the
file then records its public part and the keys it replaced.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lighthouse.core.errors import ConfigurationError
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.verify import ALG, TYP, b64url, field_digest, key_id, signing_input, unb64url
from pydantic import SecretStr

log = logging.getLogger(__name__)

KEYRING_FILE = "signing-keys.json"
KEYRING_FORMAT = "lighthouse-keyring/1"
# A running service re-reads the keyring this often, so `lighthouse keys rotate` takes
# effect without a restart.
RELOAD_EVERY_S = 1.0
# A retired key stays valid for signing this long after a rotation: processes that read
# the keyring a moment later (or restart one by one behind a load balancer) keep signing
# with it meanwhile, and those results must verify.
ROTATION_GRACE = timedelta(minutes=5)

# What a signature covers (docs/signing.md). One-off results (GET /v1/check, POST
# /v1/checks, `lighthouse check --sign`): ``payment`` is null when nothing was paid.
CHECK_FIELDS: tuple[str, ...] = (
    "request_id", "type", "target", "ok", "status_code", "latency_ms", "error_code", "error",
    "conditions", "checked_at", "worker_id", "payment",
)
# A monitor's history items (GET /v1/monitors/{id}/checks); ``time`` is the field the
# items always had, ``checked_at`` the same instant under the one-off results' name.
HISTORY_FIELDS: tuple[str, ...] = (
    "monitor_id", "type", "target", "ok", "status_code", "latency_ms", "error_code", "error",
    "conditions", "checked_at", "time", "worker_id",
)

_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8), or base64 of a PEM, of PKCS#8 DER, or of
    the 32-byte seed. Raises ValueError naming what was expected."""
    text = text.strip()
    data: bytes
    if text.startswith("-----BEGIN"):
        data = text.encode()
    else:
        try:
            compact = "".join(text.split())
            data = base64.b64decode(compact.replace("-", "+").replace("_", "/")
                                    + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("expected an Ed25519 private key: PEM, or base64 of PEM, "
                             "PKCS#8 DER or the 32-byte seed") from None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        elif len(data) == 32:
            key = Ed25519PrivateKey.from_private_bytes(data)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"expected an Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("expected an Ed25519 private key, got another kind of key")
    return key


def _public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def timestamp(instant: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, the form ``signed_at`` always has."""
    instant = instant.astimezone(UTC)
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}Z"


def _instant(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    public_raw: bytes
    private: Ed25519PrivateKey | None  # None: retired, or held by LIGHTHOUSE_SIGNING_KEY
    not_before: datetime | None
    not_after: datetime | None  # None: the key signs now
    source: str  # "file" or "env"

    @classmethod
    def new(cls, key: Ed25519PrivateKey, *, source: str, not_before: datetime | None) -> KeyEntry:
        raw = _public_raw(key)
        return cls(key_id(raw), raw, key if source == "file" else None, not_before, None, source)

    def retired(self, at: datetime) -> KeyEntry:
        return replace(self, private=None, not_after=at)

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kid": self.kid, "x": b64url(self.public_raw), "source": self.source,
            "not_before": None if self.not_before is None else timestamp(self.not_before),
            "not_after": None if self.not_after is None else timestamp(self.not_after),
        }
        if self.private is not None:
            out["d"] = b64url(_seed(self.private))
        return out

    @classmethod
    def from_stored(cls, entry: dict[str, Any]) -> KeyEntry:
        raw = unb64url(entry["x"], 32)
        private = (Ed25519PrivateKey.from_private_bytes(unb64url(entry["d"], 32))
                   if entry.get("d") else None)
        if key_id(raw) != entry["kid"] or (private is not None and _public_raw(private) != raw):
            raise ValueError(f"key {entry.get('kid')!r} does not match its key material")
        return cls(entry["kid"], raw, private, _instant(entry.get("not_before")),
                   _instant(entry.get("not_after")), str(entry.get("source", "file")))

    def published(self) -> dict[str, Any]:
        """The entry of the public key document (a JWK with a validity window)."""
        return {
            "kid": self.kid, "alg": ALG, "kty": "OKP", "crv": "Ed25519", "use": "sig",
            "x": b64url(self.public_raw),
            "not_before": None if self.not_before is None else timestamp(self.not_before),
            "not_after": None if self.not_after is None else timestamp(self.not_after),
            "status": "current" if self.not_after is None else "retired",
        }


class Keyring:
    """The keys in the data dir; ``current`` signs. Opened at start (the key is generated
    on the first), re-read when the file changes."""

    def __init__(self, path: Path, entries: list[KeyEntry], current: KeyEntry,
                 env_key: Ed25519PrivateKey | None) -> None:
        self.path = path
        self.entries = entries
        self.current = current
        self._env_key = env_key
        self._signing = env_key or current.private
        self._mtime = self._stat()
        self._checked = time.monotonic()

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        assert self._signing is not None
        return self._signing

    # --- file ---------------------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def _locked(data_dir: Path) -> Iterator[Path]:
        """The keyring path, under an exclusive lock: two processes starting together on
        one data dir must not each generate a key."""
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / (KEYRING_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield data_dir / KEYRING_FILE
        finally:
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> list[KeyEntry]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        if path.stat().st_mode & 0o077:
            log.warning("signing keyring was readable by others; mode set to 0600",
                        extra={"path": str(path)})
            path.chmod(0o600)
        try:
            doc = safe_json_loads(raw)
            if doc.get("format") != KEYRING_FORMAT:
                raise ValueError(f"format is not {KEYRING_FORMAT}")
            return [KeyEntry.from_stored(e) for e in doc["keys"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"signing keyring {path}: unreadable ({exc})") from None

    @staticmethod
    def _write(path: Path, entries: list[KeyEntry]) -> None:
        """Atomically, created 0600 (the private key is never readable by others, not even
        between create and chmod)."""
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"format": KEYRING_FORMAT, "keys": [e.stored() for e in entries]}, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _stat(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    # --- opening, rotating -----------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: Path, env_key: SecretStr | str | None = None,
             now: datetime | None = None) -> Keyring:
        now = now or datetime.now(UTC)
        env = (parse_private_key(env_key.get_secret_value() if isinstance(env_key, SecretStr) else env_key)
               if env_key else None)
        with cls._locked(data_dir) as path:
            entries = cls._read(path)
            changed = False
            if env is not None:
                mine = KeyEntry.new(env, source="env", not_before=None)
                known = next((e for e in entries if e.kid == mine.kid), None)
                if known is not None and known.not_after is not None:
                    raise ConfigurationError("LIGHTHOUSE_SIGNING_KEY: this key was retired "
                                             f"({known.kid}); generate a new one")
                if known is None:
                    # The key the file signed with until now is retired, not forgotten:
                    # what it signed must keep verifying.
                    entries = [e.retired(now + ROTATION_GRACE) if e.not_after is None else e
                               for e in entries]
                    entries.insert(0, mine)
                    changed = True
                current = next(e for e in entries if e.kid == mine.kid)
            else:
                usable = [e for e in entries if e.not_after is None and e.private is not None]
                if usable:
                    current = usable[0]
                else:
                    # First start, or the key came from LIGHTHOUSE_SIGNING_KEY, now unset.
                    current = KeyEntry.new(Ed25519PrivateKey.generate(), source="file", not_before=now)
                    entries = [current] + [e.retired(now) if e.not_after is None else e for e in entries]
                    changed = True
                    log.info("signing key generated", extra={"kid": current.kid, "path": str(path)})
            if changed:
                cls._write(path, entries)
        return cls(path, entries, current, env)

    @classmethod
    def rotate(cls, data_dir: Path, now: datetime | None = None) -> tuple[KeyEntry | None, KeyEntry]:
        """A new current key; the old one is retired after ROTATION_GRACE and its private
        part deleted. Returns (the old key as retired, the new key)."""
        now = now or datetime.now(UTC)
        with cls._locked(data_dir) as path:
            entries = cls._read(path)
            new = KeyEntry.new(Ed25519PrivateKey.generate(), source="file", not_before=now)
            retired = [e.retired(now + ROTATION_GRACE) if e.not_after is None else e for e in entries]
            old = next((r for e, r in zip(entries, retired, strict=True) if e.not_after is None), None)
            cls._write(path, [new, *retired])
        return old, new

    def refresh(self) -> None:
        """Pick up a rotation made by another process; at most one stat per RELOAD_EVERY_S."""
        now = time.monotonic()
        if now - self._checked < RELOAD_EVERY_S:
            return
        self._checked = now
        mtime = self._stat()
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            entries = self._read(self.path)
        except ConfigurationError:
            log.exception("signing keyring changed but cannot be read; keeping the loaded keys")
            return
        if self._env_key is not None:
            self.entries = entries if any(e.kid == self.current.kid for e in entries) else self.entries
            return
        usable = [e for e in entries if e.not_after is None and e.private is not None]
        if not usable:
            log.error("signing keyring changed and holds no current key; keeping the loaded one")
            return
        self.entries, self.current = entries, usable[0]
        self._signing = usable[0].private
        log.info("signing key reloaded", extra={"kid": self.current.kid})

    def document(self) -> dict[str, Any]:
        """/.well-known/lighthouse-keys.json: every key, current first."""
        ordered = sorted(self.entries, key=lambda e: (e.not_after is not None, e.kid != self.current.kid))
        return {"format": TYP, "keys": [e.published() for e in ordered]}


def _signable(value: Any) -> Any:
    """The value as the canonical encoding can carry it: a lone surrogate (which UTF-8
    cannot hold) becomes U+FFFD, NaN and infinities become null. The caller serves this
    value, so what is shown is what was signed."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, float):
        return value if value - value == 0 else None
    if isinstance(value, list):
        return [_signable(v) for v in value]
    if isinstance(value, dict):
        return {_signable(k): _signable(v) for k, v in value.items()}
    return value


class ResultSigner:
    def __init__(self, keyring: Keyring, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.keyring = keyring
        self._clock = clock

    @property
    def kid(self) -> str:
        return self.keyring.current.kid

    def prepare(self) -> tuple[str, Ed25519PrivateKey, str]:
        """(kid, key, signed_at) for one response: every result in it shares them. Call on
        the event loop thread; ``sign_with`` may then run in a worker thread."""
        self.keyring.refresh()
        return self.keyring.current.kid, self.keyring.signing_key, timestamp(self._clock())

    @staticmethod
    def sign_with(key: tuple[str, Ed25519PrivateKey, str], objs: Sequence[dict[str, Any]],
                  fields: Sequence[str]) -> None:
        """Adds ``signature`` to each object over ``fields`` (all must be present), after
        making their values encodable in place."""
        kid, private, signed_at = key
        for obj in objs:
            digests: dict[str, str] = {}
            for name in fields:
                value = obj[name] = _signable(obj[name])
                digests[name] = field_digest(value)
            sig = private.sign(signing_input(kid, signed_at, digests))
            obj["signature"] = {"alg": ALG, "kid": kid, "signed_at": signed_at,
                                "digests": digests, "sig": b64url(sig)}

    def sign(self, obj: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
        self.sign_with(self.prepare(), [obj], fields)
        return obj

    def document(self) -> dict[str, Any]:
        self.keyring.refresh()
        return self.keyring.document()


def load_signer(data_dir: Path, env_key: SecretStr | None) -> ResultSigner:
    """The signer of a process: its keyring opened (a key generated on the first start)."""
    try:
        return ResultSigner(Keyring.open(data_dir, env_key))
    except ValueError as exc:
        raise ConfigurationError(f"LIGHTHOUSE_SIGNING_KEY: {exc}") from None
