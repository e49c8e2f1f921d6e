"""Signed results (core/signing.py) and their standalone verifier (core/verify.py): the
canonical encoding, round trips, keys in the data dir, rotation, malformed input."""

from __future__ import annotations

import ast
import base64
import json
import math
import stat
import struct
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from lighthouse.core import signing
from lighthouse.core import verify as verify_module
from lighthouse.core.errors import ConfigurationError
from lighthouse.core.settings import load_settings
from lighthouse.core.signing import CHECK_FIELDS, KEYRING_FILE, Keyring, ResultSigner, load_signer
from lighthouse.core.verify import (
    Malformed,
    canonical,
    key_id,
    load_keys,
    parse_json,
    verify_document,
    verify_result,
)


def result(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_id": "0f8e2c1a-6d1e-4b8e-9a55-0d6c7c2f1b11", "type": "http",
        "target": "https://example.com/health", "ok": True, "status_code": 200,
        "latency_ms": 41.27, "error_code": None, "error": None,
        "conditions": [{"condition": "[STATUS] == 200", "ok": True, "actual": "200", "reason": None}],
        "checked_at": "2026-06-01T12:00:00.123456Z", "worker_id": "host:1:abc",
        "payment": {"transaction": "0x" + "ab" * 32, "network": "eip155:43113"},
        "details": {"timings": {"total_ms": 41.27}},
    }
    base.update(changes)
    return base


def wire(obj: dict[str, Any]) -> dict[str, Any]:
    """What a client receives: the object after a trip through JSON text."""
    return parse_json(json.dumps(obj).encode())  # type: ignore[no-any-return]


def keys_of(signer: ResultSigner) -> dict[str, Any]:
    return load_keys(json.dumps(signer.document()).encode())


# --- the canonical encoding (RFC 8785) ---------------------------------------------------
def test_rfc8785_examples() -> None:
    # RFC 8785 §3.2.2 (the sample input) and §3.2.3 (sorting by UTF-16 code units).
    sample = parse_json(
        b'{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        b' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        b' "literals": [null, true, false]}')
    assert canonical(sample) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}').encode()
    sorting = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
               "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
               "\u00f6": "Latin Small Letter O With Diaeresis"}
    order = [k for k, _ in json.loads(canonical(sorting), object_pairs_hook=list)]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    # Appendix B number samples (IEEE 754 bit patterns -> ECMAScript text).
    for bits, text in [("4340000000000001", "9007199254740994"),
                       ("4430000000000000", "295147905179352830000"),
                       ("44b52d02c7e14af6", "1e+23"), ("3eb0c6f7a0b5ed8d", "0.000001"),
                       ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
                       ("7fefffffffffffff", "1.7976931348623157e+308"),
                       ("8000000000000000", "0"), ("0000000000000001", "5e-324")]:
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        assert canonical(value) == text.encode(), bits


TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))  # UTF-8 has no lone surrogates
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, database=None)
@given(JSON_VALUES)
def test_the_fast_encoding_is_rfc8785(value: Any) -> None:
    """core/verify.py encodes scalars itself for speed; it must be rfc8785's, byte for byte."""
    assert canonical(value) == rfc8785.dumps(value)


def test_values_without_a_canonical_form_are_refused() -> None:
    for bad in (math.nan, math.inf, 2**53, "\ud800", {1: "x"}, object()):
        with pytest.raises(Malformed):
            canonical(bad)


# --- sign and verify -----------------------------------------------------------------------
def test_round_trip_and_what_the_signature_covers(tmp_path: Path) -> None:
    signer = load_signer(tmp_path, None)
    signed = signer.sign(result(), CHECK_FIELDS)
    sig = signed["signature"]
    assert set(sig) == {"alg", "kid", "signed_at", "digests", "sig"}
    assert sig["alg"] == "Ed25519" and sig["kid"] == signer.kid and list(sig["digests"]) == list(CHECK_FIELDS)
    verdict = verify_result(wire(signed), keys_of(signer))
    assert verdict.valid, verdict.reason
    assert verdict.not_covered == ["details"]
    # The id is the first 16 hex digits of SHA-256 over the raw public key.
    raw = signer.keyring.signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.kid == key_id(raw) and len(signer.kid) == 16


@pytest.mark.parametrize("field", CHECK_FIELDS)
def test_changing_any_covered_field_is_named(tmp_path: Path, field: str) -> None:
    signer = load_signer(tmp_path, None)
    signed = wire(signer.sign(result(), CHECK_FIELDS))
    original = signed[field]
    signed[field] = {"changed": True} if original is None else None
    verdict = verify_result(signed, keys_of(signer))
    assert not verdict.valid and verdict.changed == [field], verdict.reason
    del signed[field]
    verdict = verify_result(signed, keys_of(signer))
    assert not verdict.valid and f"{field} (removed)" in verdict.reason


def test_a_changed_signature_block_is_invalid(tmp_path: Path) -> None:
    signer = load_signer(tmp_path, None)
    keys = keys_of(signer)
    signed = wire(signer.sign(result(), CHECK_FIELDS))
    for mutate in (
        lambda s: s.update(signed_at="2020-01-01T00:00:00.000Z"),
        lambda s: s["digests"].update(ok=s["digests"]["status_code"]),
        lambda s: s["digests"].pop("payment"),
        lambda s: s.update(sig=s["sig"][:-2] + ("AA" if not s["sig"].endswith("AA") else "Ag")),
    ):
        copy = json.loads(json.dumps(signed))
        mutate(copy["signature"])
        verdict = verify_result(copy, keys)
        assert not verdict.valid and "signature does not match" in verdict.reason
    other = load_signer(tmp_path / "other", None)
    verdict = verify_result(signed, keys_of(other))
    assert not verdict.valid and "not among the keys" in verdict.reason


def test_same_key_and_time_give_the_same_signature(tmp_path: Path) -> None:
    """Ed25519 is deterministic: a history row re-served in the same second under the same
    key carries the same bytes (signing at serve time loses nothing)."""
    signer = load_signer(tmp_path, None)
    key = signer.prepare()
    a, b = result(), result()
    ResultSigner.sign_with(key, [a], CHECK_FIELDS)
    ResultSigner.sign_with(key, [b], CHECK_FIELDS)
    assert a["signature"] == b["signature"]


def test_text_that_utf8_cannot_carry_is_served_as_signed(tmp_path: Path) -> None:
    signer = load_signer(tmp_path, None)
    signed = signer.sign(result(error="bad \ud800 byte", latency_ms=math.nan), CHECK_FIELDS)
    assert signed["error"] == "bad \ufffd byte" and signed["latency_ms"] is None
    assert verify_result(wire(signed), keys_of(signer)).valid


def test_a_history_page_is_verified_item_by_item(tmp_path: Path) -> None:
    signer = load_signer(tmp_path, None)
    items = [signer.sign(result(request_id=str(i)), CHECK_FIELDS) for i in range(3)]
    page = {"checks": items, "next_before": None}
    assert all(v.valid for v in verify_document(json.dumps(page).encode(), keys_of(signer)))
    page["checks"][1]["ok"] = False
    verdicts = verify_document(json.dumps(page).encode(), keys_of(signer))
    assert [v.valid for v in verdicts] == [True, False, True]


@pytest.mark.parametrize("raw", [
    b"", b"{", b"[]", b'{"ok": true}', b'{"ok": true, "ok": false, "signature": {}}',
    b'{"ok": NaN, "signature": {}}', b"[" * 100 + b"]" * 100, "\u00e9".encode("latin-1"),
    b'{"checks": []}',
])
def test_malformed_input(tmp_path: Path, raw: bytes) -> None:
    signer = load_signer(tmp_path, None)
    with pytest.raises(Malformed):
        verify_document(raw, keys_of(signer))


@pytest.mark.parametrize("block", [
    {"alg": "RS256"}, {"kid": "XYZ"}, {"signed_at": "yesterday"}, {"signed_at": "2026-06-01T12:00:00"},
    {"digests": {}}, {"digests": {"ok": "not base64!"}}, {"sig": "AAAA"}, {"sig": "A" * 86 + "="},
    {"extra": 1},
])
def test_malformed_signature_blocks(tmp_path: Path, block: dict[str, Any]) -> None:
    signer = load_signer(tmp_path, None)
    signed = wire(signer.sign(result(), CHECK_FIELDS))
    signed["signature"].update(block)
    with pytest.raises(Malformed):
        verify_result(signed, keys_of(signer))


# --- keys ----------------------------------------------------------------------------------
def test_the_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_signer(tmp_path, None)
    path = tmp_path / KEYRING_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(tmp_path, None).kid == first.kid  # the next start reuses it
    seed = json.loads(path.read_text())["keys"][0]["d"]
    assert seed  # the private seed is in the file, and nowhere public
    assert all("d" not in k for k in first.document()["keys"])
    assert seed not in json.dumps(first.document())


def test_a_keyring_readable_by_others_is_closed(tmp_path: Path) -> None:
    load_signer(tmp_path, None)
    path = tmp_path / KEYRING_FILE
    path.chmod(0o644)
    load_signer(tmp_path, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_signing_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file_signer = load_signer(tmp_path, None)
    old = wire(file_signer.sign(result(), CHECK_FIELDS))
    env_key = Ed25519PrivateKey.generate()
    seed = env_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    pem = _pem(env_key)
    for form in (pem, base64.b64encode(seed).decode(), base64.b64encode(pem.encode()).decode()):
        monkeypatch.setenv("LIGHTHOUSE_SIGNING_KEY", form)
        settings_ = load_settings()
        assert "PRIVATE" not in repr(settings_) and form not in repr(settings_)
        signer = load_signer(tmp_path, settings_.signing_key)
        assert signer.kid == key_id(env_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        assert signer.kid != file_signer.kid
    new = wire(signer.sign(result(), CHECK_FIELDS))
    doc = signer.document()
    assert [k["status"] for k in doc["keys"]] == ["current", "retired"]
    assert verify_result(new, keys_of(signer)).valid
    assert verify_result(old, keys_of(signer)).valid  # the replaced file key stays verifiable
    assert seed.hex() not in (tmp_path / KEYRING_FILE).read_text()  # the env secret is not copied


def test_a_bad_signing_key_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTHOUSE_SIGNING_KEY", "not a key")
    with pytest.raises(ConfigurationError, match="LIGHTHOUSE_SIGNING_KEY"):
        load_settings()


def test_rotation_keeps_old_results_verifiable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "RELOAD_EVERY_S", 0.0)
    running = load_signer(tmp_path, None)
    before = wire(running.sign(result(), CHECK_FIELDS))
    old, new = Keyring.rotate(tmp_path)
    assert old is not None and old.kid == running.kid and new.kid != old.kid
    # The running service picks the rotation up by itself.
    after = wire(running.sign(result(), CHECK_FIELDS))
    assert after["signature"]["kid"] == new.kid
    stored = json.loads((tmp_path / KEYRING_FILE).read_text())["keys"]
    assert [bool(e.get("d")) for e in stored] == [True, False]  # the retired private key is gone
    doc = load_signer(tmp_path, None).document()
    assert [(k["kid"], k["status"]) for k in doc["keys"]] == [(new.kid, "current"), (old.kid, "retired")]
    keys = load_keys(json.dumps(doc).encode())
    assert verify_result(before, keys).valid and verify_result(after, keys).valid


def test_a_signature_outside_the_keys_validity_is_invalid(tmp_path: Path) -> None:
    """What a stolen key could still do after its rotation (or before it existed): sign
    with any signed_at. The published window refuses such signatures."""
    running = load_signer(tmp_path, None)
    old_key = (running.kid, running.keyring.signing_key)
    old, _ = Keyring.rotate(tmp_path)
    assert old is not None and old.not_before is not None and old.not_after is not None
    keys = keys_of(load_signer(tmp_path, None))

    def signed_at(instant: datetime) -> dict[str, Any]:
        out = result()
        ResultSigner.sign_with((*old_key, signing.timestamp(instant)), [out], CHECK_FIELDS)
        return wire(out)

    assert verify_result(signed_at(old.not_after - timedelta(seconds=1)), keys).valid  # in the grace
    for outside in (old.not_after + timedelta(seconds=1), old.not_before - timedelta(days=1)):
        verdict = verify_result(signed_at(outside), keys)
        assert not verdict.valid and "outside the validity" in verdict.reason


def test_the_verifier_stands_alone(tmp_path: Path) -> None:
    """core/verify.py is meant to be copied: it imports only the standard library,
    cryptography and rfc8785, and runs as a script of its own."""
    source = Path(verify_module.__file__).read_text(encoding="utf-8")
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - sys.stdlib_module_names == {"cryptography", "rfc8785"}

    signer = load_signer(tmp_path / "data", None)
    (tmp_path / "result.json").write_text(json.dumps(signer.sign(result(), CHECK_FIELDS)))
    (tmp_path / "keys.json").write_text(json.dumps(signer.document()))
    copy = tmp_path / "vendored" / "verify.py"
    copy.parent.mkdir()
    copy.write_text(source)
    # -I: no user site, no current directory, no PYTHON* variables: only the copied file.
    out = subprocess.run([sys.executable, "-I", str(copy), str(tmp_path / "result.json"),
                          "--key", str(tmp_path / "keys.json")],
                         capture_output=True, text=True, timeout=60, cwd=copy.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("valid:")


def test_a_pem_public_key_verifies_and_other_keys_are_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    signer = load_signer(tmp_path, None)
    signed = wire(signer.sign(result(), CHECK_FIELDS))
    pem = signer.keyring.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_result(signed, load_keys(pem)).valid
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for bad in (other, b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"):
        with pytest.raises(Malformed):
            load_keys(bad)
