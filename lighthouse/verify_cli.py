"""`lighthouse verify` (a signed result, offline), `lighthouse keys` (the signing keys), and
the signing behind `lighthouse check --sign`. The format: docs/signing.md."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import uuid
from datetime import UTC, datetime
from typing import Any


def register(sub: Any) -> None:
    """Adds the subcommands to the `lighthouse` parser; each sets ``handler``."""
    from lighthouse.core.verify import add_arguments

    v = sub.add_parser("verify", help="check a signed result offline (exit 0 valid, 1 invalid, 2 malformed)",
                       description="Verify a signed check result or history page against a key "
                                   "file or the service's published keys.")
    add_arguments(v)
    v.set_defaults(handler=cmd_verify)
    k = sub.add_parser("keys", help="the keys that sign check results")
    ks = k.add_subparsers(dest="keys_command", required=True)
    ks.add_parser("show", help="print the public key document (what /.well-known/lighthouse-keys.json "
                               "serves); usable as `verify --key`")
    ks.add_parser("rotate", help="make a new signing key; the old one stays published and verifiable")
    k.set_defaults(handler=cmd_keys)


def cmd_verify(args: argparse.Namespace) -> int:
    # Only the standalone module: verifying needs no settings, database or network
    # (unless --keys-url asks for it).
    from lighthouse.core.verify import run

    return run(args)


def _settings() -> Any:
    from lighthouse.core.settings import load_settings

    return load_settings()


def cmd_keys(args: argparse.Namespace) -> int:
    from lighthouse.core.signing import Keyring

    settings = _settings()
    if args.keys_command == "show":
        keyring = Keyring.open(settings.data_dir, settings.signing_key)
        print(json.dumps(keyring.document(), indent=2))
        return 0
    if settings.signing_key is not None:
        print("lighthouse keys rotate: LIGHTHOUSE_SIGNING_KEY is set, so the key comes from the "
              "environment: set it to a new key and restart (the old key stays published)",
              file=sys.stderr)
        return 2
    old, new = Keyring.rotate(settings.data_dir)
    retired = f"{old.kid} retired at {old.not_after:%Y-%m-%dT%H:%M:%SZ}" if old and old.not_after else "none"
    print(f"new signing key {new.kid} (previous: {retired}); running services switch "
          "within seconds")
    return 0


def sign_check_output(out: dict[str, Any], settings: Any) -> dict[str, Any]:
    """`lighthouse check --sign`: the printed result with what the signature covers (no
    payment: nothing was bought), signed with the data dir's key."""
    from lighthouse.core.signing import CHECK_FIELDS, load_signer

    worker = settings.instance_id or f"cli:{socket.gethostname()}:{os.getpid()}"
    out.update(request_id=str(uuid.uuid4()), checked_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
               worker_id=worker, payment=None)
    return load_signer(settings.data_dir, settings.signing_key).sign(out, CHECK_FIELDS)
