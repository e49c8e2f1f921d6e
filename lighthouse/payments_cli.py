"""`lighthouse payments refunds`: payments owed back to their payers, for the operator.

A payment settles, then the monitor it paid for cannot be created (a race the
pre-payment dry run could not see): it is owed back (core/payments/refunds.py). Where
the relayer key holds the paid account the service sends the refund itself; this lists
what is still owed or undecided (``--all``: refunded ones too), as a table or ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal
from typing import Any

USDC_DECIMALS = 6
COLUMNS = ("id", "state", "payer", "usdc", "network", "settled_tx", "refund_tx", "reason",
           "updated_at")


def register(subparsers: Any) -> None:
    """Add ``payments`` to the ``lighthouse`` command (lighthouse/cli.py)."""
    p = subparsers.add_parser("payments", help="x402 payments: what is owed back to payers")
    sub = p.add_subparsers(dest="payments_command", required=True)
    r = sub.add_parser("refunds", help="payments owed back (refund_due, refunding)")
    r.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    r.add_argument("--all", action="store_true", help="include refunded payments")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lighthouse.core.settings import load_settings

    rows = asyncio.run(_refunds(load_settings(), include_done=args.all))
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


async def _refunds(settings: Any, *, include_done: bool) -> list[dict[str, Any]]:
    from lighthouse.core.payments.store import REFUND_STATES, PaymentStore
    from lighthouse.runtime import open_core

    states = (*REFUND_STATES, "refunded") if include_done else REFUND_STATES
    async with open_core(settings) as core:
        return [_row(r) for r in await PaymentStore(core.pool).refunds(states)]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"], "state": r["state"], "payer": r["payer"],
        "amount_atomic": str(int(r["amount"])),
        "usdc": str(Decimal(int(r["amount"])).scaleb(-USDC_DECIMALS)),
        "network": r["network"], "asset": r["asset"], "pay_to": r["pay_to"],
        "resource": r["resource"], "settled_tx": r["tx_hash"], "refund_tx": r["refund_tx"],
        "reason": r["refund_reason"], "error": r["error"],
        "refunded_at": r["refunded_at"].isoformat() if r["refunded_at"] else None,
        "updated_at": r["updated_at"].isoformat(),
    }


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no payments are owed back"
    # The reason in full is in --json; a table line stays readable.
    cells = [[str(r[c] if r[c] is not None else "-")[:60] for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
