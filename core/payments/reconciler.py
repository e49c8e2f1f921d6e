"""Reconciler: decides ``reserved``/``pending`` rows from the chain, never by guessing.

Receipt by tx hash, else ``authorizationState``: used -> settled; unused past
``validBefore`` -> failed; otherwise left for the next pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from lighthouse.core.payments.facilitator import Facilitator
from lighthouse.core.payments.requirements import Network, Offer
from lighthouse.core.payments.store import PaymentStore
from lighthouse.core.payments.verifier import Verified, parse_authorization

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, store: PaymentStore, facilitator: Facilitator | None,
                 networks: list[Network], clock: Callable[[], float] = time.time,
                 min_age_s: float = 30.0) -> None:
        self.store = store
        self.facilitator = facilitator
        self.networks = {n.chain_id: n for n in networks}
        self.clock = clock
        self.min_age_s = min_age_s

    async def run_once(self) -> dict[str, int]:
        counts = {"settled": 0, "failed": 0, "open": 0}
        if self.facilitator is None:
            return counts
        now = self.clock()
        for row in await self.store.open_rows():
            net = self.networks.get(row["chain_id"])
            if net is None or row["payload"] is None:
                continue
            if row["state"] == "reserved" and now - row["updated_at"].timestamp() < self.min_age_s:
                continue  # a request may still be in flight
            auth = parse_authorization(row["payload"].get("payload"))
            offer = Offer(net, row["pay_to"], int(row["amount"]), row["resource"], "")
            v = Verified(offer, auth, int(row["payload"].get("x402Version", 2)), row["payload"])
            try:
                state = await self.facilitator.tx_state(v, row["tx_hash"])
            except Exception as exc:
                log.warning("reconcile failed", extra={"payment_id": row["id"], "error": str(exc)})
                continue
            if state == "settled":
                await self.store.mark(row["id"], "settled")
                counts["settled"] += 1
            elif now > row["valid_before"] + 5:
                await self.store.mark(row["id"], "failed", error="expired_unsettled")
                counts["failed"] += 1
            else:
                counts["open"] += 1
        return counts
