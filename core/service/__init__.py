"""MonitorService: the one service layer behind chat, the API, the YAML file and the CLI.

Every rule lives here or in what it calls (core/limits.py, core/tiers.py, the check
types' contracts), so a command means the same thing wherever it arrives; every SQL
statement lives in core/storage/. Errors are typed (core/errors.py).

The service is split by concern: ``users`` (identities, language, tiers), ``monitors``
(create, find, state, history, maintenance windows), ``channels`` (alert destinations),
``managed`` (monitors a monitors-as-code file declares), ``status_pages`` (public
/status/<slug> pages); this class joins them. ``policy``
holds the operator's choices (default plan, admins).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from lighthouse.core.checks.base import CheckContext
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.secretbox import SecretBox
from lighthouse.core.service.channels import ChannelsMixin
from lighthouse.core.service.managed import ManagedMixin, MonitorSpec
from lighthouse.core.service.monitors import MonitorDraft, MonitorsMixin, Purchase
from lighthouse.core.service.policy import OPERATOR, InstancePolicy
from lighthouse.core.service.status_pages import BadgesMixin, StatusPagesMixin
from lighthouse.core.service.users import UpgradePath, UsersMixin, utcnow
from lighthouse.core.storage.database import OneConnection, Pool, StorageMode


class MonitorService(StatusPagesMixin, BadgesMixin, ManagedMixin, MonitorsMixin, ChannelsMixin, UsersMixin):
    def __init__(
        self,
        pool: Pool,
        guard: TargetGuard,
        check_context: CheckContext | None = None,
        *,
        mode: StorageMode = "plain",
        clock: Callable[[], datetime] = utcnow,
        policy: InstancePolicy | None = None,
        secrets: SecretBox | None = None,
    ) -> None:
        self._pool = pool
        self.guard = guard
        self._ctx = check_context
        self._mode = mode
        self._now = clock
        # The operator's choices (core/service/policy.py); the default is a public instance's.
        self.policy = policy or InstancePolicy()
        # Encrypts channel secrets before they are stored (core/secretbox.py); None keeps
        # them plain (tests that do not care, tools without a data dir).
        self.secrets = secrets

    @contextlib.asynccontextmanager
    async def unit_of_work(self, *, read_only: bool = False) -> AsyncIterator[MonitorService]:
        """This service on one connection inside one transaction: everything done through
        the yielded service commits together when the block ends, or is rolled back when it
        raises (an apply of a file is all or nothing). ``read_only``: PostgreSQL refuses any
        write in it (a dry run provably changes nothing). Calls through the yielded service
        must not overlap: it has one connection."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=read_only):
            yield MonitorService(OneConnection(conn), self.guard, self._ctx, mode=self._mode,
                                 clock=self._now, secrets=self.secrets)

__all__ = ["OPERATOR", "InstancePolicy", "MonitorDraft", "MonitorService", "MonitorSpec", "Purchase",
           "UpgradePath"]
