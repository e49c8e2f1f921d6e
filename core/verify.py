"""Verify Lighthouse's signed check results, offline.

This module stands alone so that anyone can copy it into their own project: it imports
only the standard library, ``cryptography`` (Ed25519) and ``rfc8785`` (RFC 8785 JSON
Canonicalization Scheme). Run it as ``python verify.py RESULT.json --key KEYS.json``;
inside Lighthouse it is ``lighthouse verify``. The format is described in docs/signing.md.

A signed result is a JSON object with a ``signature`` member::

    {"ok": true, "latency_ms": 41.2, ..., "signature": {
        "alg": "Ed25519", "kid": "<16 hex>", "signed_at": "<RFC 3339>",
        "digests": {"<field>": "<base64url SHA-256 of the field's JCS encoding>", ...},
        "sig": "<base64url Ed25519 signature>"}}

``sig`` signs the JCS encoding of ``{"typ", "alg", "kid", "signed_at", "digests"}``. Each
digest binds one field of the result, so when a field was changed the verifier can name it
with certainty: the digests themselves are under the signature.

Exit codes of ``main``: 0 every result is valid, 1 a result is not (a field changed, the
signature does not match, unknown or expired key), 2 the input or the keys are malformed
or could not be read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import urllib.error
import urllib.request
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from json.encoder import encode_basestring
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "ALG", "TYP", "Malformed", "PublicKey", "Verdict", "canonical", "field_digest", "key_id",
    "load_keys", "main", "parse_json", "signing_input", "verify_document", "verify_result",
]

ALG = "Ed25519"
# Domain separation: these bytes can never be mistaken for another message signed with the
# same key (a future format gets a new value).
TYP = "lighthouse-result/1"
MAX_INPUT = 16 * 1024 * 1024  # a full history page of 1000 items is about 1 MB
MAX_KEYS_DOCUMENT = 1024 * 1024
MAX_DEPTH = 64  # a signed result nests 4 levels; anything near this is not one
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class Malformed(ValueError):
    """The input, a signature block or a key document is not in the expected form."""


# --- encoding ----------------------------------------------------------------------------
_SAFE_INT = 2**53 - 1  # I-JSON: larger integers have no exact JSON number (RFC 8785 §3.2.2.3)


def canonical(value: Any) -> bytes:
    """RFC 8785 encoding of a JSON value; Malformed if it has none (NaN, integers beyond
    2**53, lone surrogates, non-string keys).

    Numbers are rfc8785's (the ECMAScript number formatting the RFC requires). Strings use
    the standard library's C JSON string escaper, which escapes exactly what RFC 8785
    §3.2.2.2 escapes and in the same form; objects are ordered by UTF-16 code units
    (§3.2.3). This path exists for speed: rfc8785.dumps alone cost about 80 µs of a
    result's signing budget (docs/performance.md); the tests hold it equal to rfc8785.dumps.
    """
    try:
        return _encode(value).encode("utf-8")
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError) as exc:
        raise Malformed(f"value cannot be canonicalized: {exc}") from None


def _encode(value: Any) -> str:
    kind = type(value)  # exact types first: this runs a dozen times per signed result
    if kind is str:
        return encode_basestring(value)
    if kind is bool or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if kind is int:
        if not -_SAFE_INT <= value <= _SAFE_INT:
            raise Malformed(f"integer {value} is beyond 2**53")
        return str(value)
    if kind is float:
        text = repr(value)
        # Without an exponent, Python's shortest round-trip digits are ECMAScript's and
        # only a trailing ".0" differs; rfc8785 does the rest (exponents, NaN, zero).
        if "e" not in text and "n" not in text and value != 0:
            return text[:-2] if text.endswith(".0") else text
        return rfc8785.dumps(value).decode("ascii")
    if kind is list or kind is tuple:
        return "[" + ",".join([_encode(v) for v in value]) + "]"
    if kind is dict:
        ascii_keys = True
        for k in value:
            if type(k) is not str:
                raise Malformed("object keys must be strings")
            ascii_keys = ascii_keys and k.isascii()
        # Code point order is UTF-16 order below U+D800, so ASCII keys need no re-encoding.
        keys = sorted(value) if ascii_keys else sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join([encode_basestring(k) + ":" + _encode(value[k]) for k in keys]) + "}"
    # Subclasses (an IntEnum, a str enum) as their plain JSON value, as json.dumps does.
    if isinstance(value, str):
        return _encode(str.__str__(value))
    if isinstance(value, int):
        return _encode(int(value))
    if isinstance(value, float):
        return _encode(float(value))
    if isinstance(value, list | tuple):
        return _encode(list(value))
    if isinstance(value, dict):
        return _encode(dict(value))
    raise Malformed(f"{type(value).__name__} is not a JSON value")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def unb64url(text: Any, size: int | None = None) -> bytes:
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise Malformed("expected base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:  # one encoding per value: no trailing bits that are ignored
        raise Malformed("non-canonical base64url")
    if size is not None and len(data) != size:
        raise Malformed(f"expected {size} bytes, got {len(data)}")
    return data


def field_digest(value: Any) -> str:
    return b64url(hashlib.sha256(canonical(value)).digest())


def signing_input(kid: str, signed_at: str, digests: Mapping[str, str]) -> bytes:
    """The bytes ``sig`` signs."""
    return canonical({"typ": TYP, "alg": ALG, "kid": kid, "signed_at": signed_at,
                      "digests": dict(digests)})


def key_id(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 over its 32 raw public bytes."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _instant(text: Any, what: str) -> datetime:
    if not isinstance(text, str) or len(text) > 40:
        raise Malformed(f"{what}: expected an RFC 3339 date-time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"{what}: expected an RFC 3339 date-time") from None
    if value.utcoffset() is None:
        raise Malformed(f"{what}: needs a UTC offset")
    return value


# --- parsing -----------------------------------------------------------------------------
def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers that keep different copies of a repeated key would see different results
    # under one signature; such input is refused.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Malformed(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def parse_json(raw: bytes, limit: int = MAX_INPUT) -> Any:
    """Strict, bounded JSON: UTF-8, at most ``limit`` bytes, nesting at most MAX_DEPTH
    (measured before the recursive decoder runs, so a deep input cannot exhaust the stack),
    no repeated keys, no NaN/Infinity."""
    if len(raw) > limit:
        raise Malformed(f"input larger than {limit} bytes")
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        brackets = _STRING.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
        if max(accumulate(array("b", brackets)), default=0) > MAX_DEPTH:
            raise Malformed(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except Malformed:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON: {exc}") from None


# --- keys --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Ed25519PublicKey
    not_before: datetime | None = None
    not_after: datetime | None = None  # None: still signing

    def valid_at(self, instant: datetime) -> bool:
        return ((self.not_before is None or instant >= self.not_before)
                and (self.not_after is None or instant <= self.not_after))


def _key_entry(entry: Any) -> PublicKey:
    if not isinstance(entry, dict):
        raise Malformed("a key entry must be an object")
    if entry.get("alg", ALG) != ALG or entry.get("crv", "Ed25519") != "Ed25519":
        raise Malformed(f"unsupported key algorithm {entry.get('alg')!r}")
    raw = unb64url(entry.get("x"), 32)
    kid = entry.get("kid")
    if kid != key_id(raw):
        raise Malformed(f"key id {kid!r} does not match its public key")
    not_before = entry.get("not_before")
    not_after = entry.get("not_after")
    try:
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise Malformed(f"key {kid}: {exc}") from None
    return PublicKey(kid, key,
                     None if not_before is None else _instant(not_before, "not_before"),
                     None if not_after is None else _instant(not_after, "not_after"))


def load_keys(raw: bytes) -> dict[str, PublicKey]:
    """Keys by id from a key document (``/.well-known/lighthouse-keys.json``) or a PEM
    public key (no validity window: it verifies at any time)."""
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(raw)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise Malformed(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise Malformed("the PEM key is not an Ed25519 key")
        public_raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {key_id(public_raw): PublicKey(key_id(public_raw), key)}
    doc = parse_json(raw, MAX_KEYS_DOCUMENT)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise Malformed('a key document is an object with a "keys" list')
    keys = [_key_entry(e) for e in doc["keys"]]
    return {k.kid: k for k in keys}


def fetch_keys(url: str, timeout: float = 10.0) -> dict[str, PublicKey]:
    """The key document at ``url`` (http or https), read with a time limit and a size cap."""
    if not url.startswith(("https://", "http://")):
        raise Malformed("--keys-url must be an http:// or https:// URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw = resp.read(MAX_KEYS_DOCUMENT + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Malformed(f"could not fetch {url}: {exc}") from None
    return load_keys(raw)


# --- verification ------------------------------------------------------------------------
_SIGNATURE_MEMBERS = {"alg", "kid", "signed_at", "digests", "sig"}


@dataclass
class Verdict:
    valid: bool
    reason: str
    label: str = ""
    kid: str | None = None
    signed_at: str | None = None
    changed: list[str] = field(default_factory=list)  # fields whose digest no longer matches
    covered: list[str] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason, "label": self.label, "kid": self.kid,
                "signed_at": self.signed_at, "changed": self.changed, "covered": self.covered,
                "not_covered": self.not_covered}


def _label(result: Mapping[str, Any]) -> str:
    for name in ("request_id", "monitor_id"):
        if isinstance(result.get(name), str):
            at = result.get("checked_at")
            return f"{name} {result[name]}" + (f" at {at}" if isinstance(at, str) else "")
    return "result"


def verify_result(result: Any, keys: Mapping[str, PublicKey]) -> Verdict:
    """One signed result against known keys. Raises Malformed when it is not a signed
    result at all; otherwise the verdict says whether it is valid and, if not, why."""
    if not isinstance(result, dict):
        raise Malformed("a signed result is a JSON object")
    sig = result.get("signature")
    if not isinstance(sig, dict):
        raise Malformed('no "signature" object')
    if set(sig) != _SIGNATURE_MEMBERS:
        raise Malformed(f"signature members must be {sorted(_SIGNATURE_MEMBERS)}")
    if sig["alg"] != ALG:
        raise Malformed(f"unsupported signature algorithm {sig['alg']!r}")
    kid, signed_at, digests = sig["kid"], sig["signed_at"], sig["digests"]
    if not isinstance(kid, str) or not re.fullmatch(r"[0-9a-f]{16}", kid):
        raise Malformed("kid must be 16 lowercase hex digits")
    instant = _instant(signed_at, "signed_at")
    if not isinstance(digests, dict) or not digests or "signature" in digests:
        raise Malformed("digests must be a non-empty object of field names")
    for digest in digests.values():
        unb64url(digest, 32)
    signature = unb64url(sig["sig"], 64)

    covered = sorted(digests)
    verdict = Verdict(False, "", _label(result), kid, signed_at, covered=covered,
                      not_covered=sorted(k for k in result if k not in digests and k != "signature"))
    key = keys.get(kid)
    if key is None:
        verdict.reason = f"signed with key {kid}, which is not among the keys given"
        return verdict
    try:
        key.key.verify(signature, signing_input(kid, signed_at, digests))
    except InvalidSignature:
        verdict.reason = ("the signature does not match its signature block (kid, signed_at "
                          "or digests were altered, or another key signed it)")
        return verdict
    if not key.valid_at(instant):
        verdict.reason = f"signed at {signed_at}, outside the validity of key {kid}"
        return verdict
    for name in covered:
        if name not in result:
            verdict.changed.append(name)
            continue
        try:
            same = field_digest(result[name]) == digests[name]
        except Malformed:
            same = False
        if not same:
            verdict.changed.append(name)
    if verdict.changed:
        verdict.reason = ("changed since it was signed: " + ", ".join(
            f"{n} (removed)" if n not in result else n for n in verdict.changed))
        return verdict
    verdict.valid = True
    verdict.reason = f"signed by key {kid} at {signed_at}"
    return verdict


def results_in(doc: Any) -> list[Any]:
    """The signed results a document holds: itself, or the items of a history page."""
    if isinstance(doc, dict) and "signature" not in doc and isinstance(doc.get("checks"), list):
        if not doc["checks"]:
            raise Malformed("the history page holds no results")
        return list(doc["checks"])
    return [doc]


def verify_document(raw: bytes, keys: Mapping[str, PublicKey]) -> list[Verdict]:
    """Every result in a document (a result, or a history page ``{"checks": [...]}``)."""
    return [verify_result(r, keys) for r in results_in(parse_json(raw))]


# --- command line ------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a signed result or history page as JSON; - reads standard input")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--key", metavar="FILE",
                        help="a key document (lighthouse-keys.json) or an Ed25519 PEM public key")
    source.add_argument("--keys-url", metavar="URL",
                        help="fetch the key document, e.g. https://HOST/.well-known/lighthouse-keys.json")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds for --keys-url (default 10)")
    p.add_argument("--json", action="store_true", help="print the verdicts as one JSON object")


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(MAX_INPUT + 1)
    with open(path, "rb") as f:
        return f.read(MAX_INPUT + 1)


def run(args: argparse.Namespace) -> int:
    try:
        keys = (fetch_keys(args.keys_url, args.timeout) if args.keys_url
                else load_keys(_read(args.key)))
        verdicts = verify_document(_read(args.file), keys)
    except (Malformed, OSError) as exc:
        if args.json:
            print(json.dumps({"valid": False, "malformed": str(exc), "results": []}))
        else:
            print(f"malformed: {exc}", file=sys.stderr)
        return 2
    valid = all(v.valid for v in verdicts)
    if args.json:
        print(json.dumps({"valid": valid, "results": [v.to_dict() for v in verdicts]}))
    else:
        for v in verdicts:
            line = f"{'valid' if v.valid else 'INVALID'}: {v.label}: {v.reason}"
            if v.valid and v.not_covered:
                line += f" (not covered by the signature: {', '.join(v.not_covered)})"
            print(line)
    return 0 if valid else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="verify", description="Verify signed Lighthouse check results.")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
