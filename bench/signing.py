"""What signing adds to a served result (core/signing.py), against the 0.2 ms target.

Measured per result, one at a time as a one-off answer is signed: the canonical encoding
of each covered field, its digest, the envelope and the Ed25519 signature. Beside it, in
the same run: the Ed25519 signature alone (the floor), the same signing with every
encoding done by rfc8785.dumps (why core/verify.py encodes scalars itself), a history item,
a page of 1000 history items, and verification.

    .venv/bin/python bench/signing.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rfc8785
from _common import emit, machine, percentile
from lighthouse.core import verify
from lighthouse.core.signing import CHECK_FIELDS, HISTORY_FIELDS, ResultSigner, load_signer
from lighthouse.core.verify import load_keys, verify_result

ONE_OFF: dict[str, Any] = {
    "request_id": "0f8e2c1a-6d1e-4b8e-9a55-0d6c7c2f1b11", "type": "http",
    "target": "https://status.example.com/health", "ok": True, "status_code": 200,
    "latency_ms": 123.45, "error_code": None, "error": None,
    "conditions": [{"condition": "[STATUS] == 200", "ok": True, "actual": "200", "reason": None},
                   {"condition": "[RESPONSE_TIME] <= 500", "ok": True, "actual": "123", "reason": None}],
    "checked_at": "2026-06-01T12:00:00.123456Z", "worker_id": "ip-10-0-1-17:4242:a1b2c3",
    "payment": {"transaction": "0x" + "ab" * 32, "network": "eip155:43113"},
    "details": {"timings": {"total_ms": 123.45}},
}
HISTORY: dict[str, Any] = {
    "time": "2026-06-01T12:00:00.123456Z", "ok": True, "status_code": 200, "latency_ms": 123,
    "error_code": None, "error": None, "monitor_id": "5a0c4d2e-7f0b-4c4e-9d7e-1a2b3c4d5e6f",
    "type": "http", "target": "https://status.example.com/health",
    "conditions": [{"condition": "[STATUS] == 200", "ok": True, "actual": "200", "reason": None}],
    "checked_at": "2026-06-01T12:00:00.123456Z", "worker_id": "ip-10-0-1-17:4242:a1b2c3",
}


def per_call_us(fn: Callable[[], object], n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return {"p50": round(percentile(samples, 0.5) or 0, 1), "p99": round(percentile(samples, 0.99) or 0, 1)}


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        signer = load_signer(Path(tmp), None)
        key = signer.prepare()

        def sign_one_off() -> None:
            ResultSigner.sign_with(signer.prepare(), [dict(ONE_OFF)], CHECK_FIELDS)

        def sign_history() -> None:
            ResultSigner.sign_with(key, [dict(HISTORY)], HISTORY_FIELDS)

        message = verify.signing_input(signer.kid, key[2], {f: "x" * 43 for f in CHECK_FIELDS})
        private = key[1]
        figures: dict[str, Any] = {"bench": "signing", "machine": machine(), "n": n}
        figures["one_off_sign_us"] = per_call_us(sign_one_off, n)
        figures["history_item_sign_us"] = per_call_us(sign_history, n)
        figures["ed25519_only_us"] = per_call_us(lambda: private.sign(message), n)

        fast = verify.canonical
        verify.canonical = rfc8785.dumps  # type: ignore[assignment]
        try:
            figures["one_off_sign_with_rfc8785_dumps_us"] = per_call_us(sign_one_off, n // 4)
        finally:
            verify.canonical = fast

        page = [dict(HISTORY) for _ in range(1000)]
        t = time.perf_counter()
        ResultSigner.sign_with(key, page, HISTORY_FIELDS)
        figures["history_page_1000_ms"] = round((time.perf_counter() - t) * 1000, 1)

        keys = load_keys(json.dumps(signer.document()).encode())
        signed = dict(ONE_OFF)
        ResultSigner.sign_with(key, [signed], CHECK_FIELDS)
        figures["verify_us"] = per_call_us(lambda: verify_result(signed, keys), n // 4)
        figures["target_sign_us"] = 200
        figures["meets_target"] = figures["one_off_sign_us"]["p50"] < 200
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    emit(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
