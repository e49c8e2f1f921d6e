"""`lighthouse verify`, `lighthouse keys` and `lighthouse check --sign`, run as the installed
console script: exit 0 valid, 1 invalid (naming the field), 2 malformed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from lighthouse.core.signing import CHECK_FIELDS, load_signer
from targets import Target

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))
# Every value a covered field may be changed to that differs from what was signed.
TAMPERED: dict[str, Any] = {
    "request_id": "00000000-0000-4000-8000-000000000000", "type": "tcp",
    "target": "https://example.org/", "ok": False, "status_code": 503, "latency_ms": 41.28,
    "error_code": "timeout", "error": "no answer", "conditions": [],
    "checked_at": "2026-06-01T12:00:01.123456Z", "worker_id": "someone-else",
    "payment": {"transaction": "0x" + "cd" * 32, "network": "eip155:43113"},
}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    # No proxy between the CLI and 127.0.0.1; no key from the developer's environment.
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"} and not k.startswith("LIGHTHOUSE_")}
    env.update(LIGHTHOUSE_DATA_DIR=str(data_dir), **extra)
    return env


async def lighthouse(*args: str, data_dir: Path, stdin: bytes | None = None,
                     **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI without blocking the loop that may be serving its target or keys."""
    proc = await asyncio.create_subprocess_exec(
        LIGHTHOUSE, *args, env=_env(data_dir, **env), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


@pytest.fixture
def signed(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A signed one-off result and the key document that verifies it."""
    signer = load_signer(tmp_path / "data", None)
    result = signer.sign({
        "request_id": "0f8e2c1a-6d1e-4b8e-9a55-0d6c7c2f1b11", "type": "http",
        "target": "https://example.com/", "ok": True, "status_code": 200, "latency_ms": 41.27,
        "error_code": None, "error": None,
        "conditions": [{"condition": "[STATUS] == 200", "ok": True, "actual": "200", "reason": None}],
        "checked_at": "2026-06-01T12:00:00.123456Z", "worker_id": "host:1:abc",
        "payment": {"transaction": "0x" + "ab" * 32, "network": "eip155:43113"},
        "details": {},
    }, CHECK_FIELDS)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(signer.document()))
    return json.loads(json.dumps(result)), keys


async def test_valid_and_every_tampered_field(tmp_path: Path, signed: tuple[dict[str, Any], Path]) -> None:
    result, keys = signed
    assert set(TAMPERED) == set(CHECK_FIELDS)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(result))
    ok = await lighthouse("verify", str(good), "--key", str(keys), data_dir=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("valid:") and "details" in ok.stdout  # the unsigned part is named

    async def tampered(field: str) -> subprocess.CompletedProcess[str]:
        assert TAMPERED[field] != result[field]
        return await lighthouse("verify", "-", "--key", str(keys), data_dir=tmp_path,
                                stdin=json.dumps({**result, field: TAMPERED[field]}).encode())

    outcomes = await asyncio.gather(*(tampered(f) for f in CHECK_FIELDS))
    for field, out in zip(CHECK_FIELDS, outcomes, strict=True):
        assert out.returncode == 1, (field, out.stdout, out.stderr)
        assert out.stdout.startswith("INVALID"), out.stdout
        assert out.stdout.rstrip().endswith(f"changed since it was signed: {field}"), out.stdout

    # The signature block: its time, its key id and the signature itself.
    sig = result["signature"]["sig"]
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    for change in ({"signed_at": "2026-06-01T12:00:00.000Z"}, {"kid": "0123456789abcdef"}, {"sig": flipped}):
        doc = {**result, "signature": {**result["signature"], **change}}
        out = await lighthouse("verify", "-", "--key", str(keys), "--json", data_dir=tmp_path,
                               stdin=json.dumps(doc).encode())
        assert out.returncode == 1, (change, out.stdout, out.stderr)
        assert json.loads(out.stdout)["valid"] is False


@pytest.mark.parametrize("text", [
    "", "not json", "[1, 2]", '{"ok": true}', '{"ok": true, "signature": {"alg": "none"}}',
    "[" * 5000 + "]" * 5000, '{"a": 1, "a": 2, "signature": {}}',
])
async def test_malformed_input_exits_2(tmp_path: Path, signed: tuple[dict[str, Any], Path],
                                       text: str) -> None:
    _, keys = signed
    out = await lighthouse("verify", "-", "--key", str(keys), data_dir=tmp_path, stdin=text.encode())
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.startswith("malformed:")


async def test_malformed_or_missing_keys_exit_2(tmp_path: Path, signed: tuple[dict[str, Any], Path]) -> None:
    result, _ = signed
    good = tmp_path / "good.json"
    good.write_text(json.dumps(result))
    bad = tmp_path / "bad-keys.json"
    bad.write_text('{"keys": [{"kid": "0011223344556677", "x": "AAAA"}]}')
    for key in (str(bad), str(tmp_path / "absent.json")):
        out = await lighthouse("verify", str(good), "--key", key, data_dir=tmp_path)
        assert out.returncode == 2, (key, out.stdout, out.stderr)


@pytest.fixture
async def keys_server(signed: tuple[dict[str, Any], Path]) -> AsyncIterator[str]:
    """/.well-known/lighthouse-keys.json on 127.0.0.1; /slow never answers in time."""
    _, keys = signed

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=keys.read_bytes(), content_type="application/json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="{}")

    app = web.Application()
    app.router.add_get("/.well-known/lighthouse-keys.json", serve)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_keys_from_the_well_known_url(tmp_path: Path, signed: tuple[dict[str, Any], Path],
                                            keys_server: str) -> None:
    result, _ = signed
    good = tmp_path / "good.json"
    good.write_text(json.dumps(result))
    url = keys_server + "/.well-known/lighthouse-keys.json"
    out = await lighthouse("verify", str(good), "--keys-url", url, data_dir=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    started = asyncio.get_running_loop().time()
    slow = await lighthouse("verify", str(good), "--keys-url", keys_server + "/slow", "--timeout", "0.5",
                            data_dir=tmp_path)
    assert slow.returncode == 2 and "could not fetch" in slow.stderr
    assert asyncio.get_running_loop().time() - started < 10
    refused = await lighthouse("verify", str(good), "--keys-url", "http://127.0.0.1:9/keys.json",
                               data_dir=tmp_path)
    assert refused.returncode == 2


async def test_check_sign_then_verify_across_a_rotation(tmp_path: Path, target: Target) -> None:
    data = tmp_path / "data"
    private = {"LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "1"}
    first = await lighthouse("check", "--sign", target.url, data_dir=data, **private)
    assert first.returncode == 0, first.stderr
    before = tmp_path / "before.json"
    before.write_text(first.stdout)
    body = json.loads(first.stdout)
    assert body["payment"] is None and body["worker_id"].startswith("cli:") and body["type"] == "http"
    assert body["signature"]["kid"] and set(body["signature"]["digests"]) == set(CHECK_FIELDS)

    rotated = await lighthouse("keys", "rotate", data_dir=data)
    assert rotated.returncode == 0, rotated.stderr
    second = await lighthouse("check", "--sign", target.url, data_dir=data, **private)
    after = tmp_path / "after.json"
    after.write_text(second.stdout)
    assert json.loads(second.stdout)["signature"]["kid"] != body["signature"]["kid"]

    shown = await lighthouse("keys", "show", data_dir=data)
    keys = tmp_path / "keys.json"
    keys.write_text(shown.stdout)
    assert [k["status"] for k in json.loads(shown.stdout)["keys"]] == ["current", "retired"]
    for path in (before, after):
        out = await lighthouse("verify", str(path), "--key", str(keys), data_dir=tmp_path)
        assert out.returncode == 0, (path.name, out.stdout, out.stderr)


async def test_rotate_refuses_while_the_key_comes_from_the_environment(tmp_path: Path) -> None:
    seed = "A" * 43  # base64url of 32 zero bytes (a valid, if silly, Ed25519 seed)
    out = await lighthouse("keys", "rotate", data_dir=tmp_path, LIGHTHOUSE_SIGNING_KEY=seed)
    assert out.returncode == 2 and "LIGHTHOUSE_SIGNING_KEY" in out.stderr
