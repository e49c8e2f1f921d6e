"""One log line per outage, not one per retry.

The loops that claim checks, write results and deliver alerts retry every fraction of a
second while PostgreSQL is away; logging each failure with its traceback wrote hundreds
of identical tracebacks a minute and buried the line that said what happened. Here the
first failure is logged in full, the repeats are counted, and the first success after
them logs one line with how long the failure lasted and how many attempts failed.
"""

from __future__ import annotations

import logging
import time


class RepeatedFailure:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._since: float | None = None
        self.failures = 0

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self) -> None:
        """Call from the ``except`` block (the first failure's traceback is logged)."""
        self.failures += 1
        if self._since is None:
            self._since = time.monotonic()
            self._log.exception("%s failed; retrying (repeats are counted, not logged)",
                                self._what, extra={"operation": self._what})

    def succeeded(self) -> None:
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self._log.warning("%s works again after %.1f s (%d attempts failed)", self._what,
                          lasted, self.failures,
                          extra={"operation": self._what, "failed_for_s": round(lasted, 1),
                                 "failures": self.failures})
        self._since = None
        self.failures = 0
