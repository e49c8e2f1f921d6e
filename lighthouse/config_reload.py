"""The monitors-as-code file in the running service (``LIGHTHOUSE_CONFIG``,
core/config_file/): applied at start, again on SIGHUP, and again when one of its
maintenance windows begins.

At start a refused file stops start-up with its problems, as a bad setting does. Later a
refused file is logged and changes nothing: the configuration applied before stays, so a
typo saved by an editor cannot take monitors away from a running service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lighthouse.core.config_file.apply import ApplyReport, apply_file
from lighthouse.core.config_file.document import ConfigFileError
from lighthouse.core.errors import ConfigurationError
from lighthouse.wiring import Component, Core

log = logging.getLogger("lighthouse.config")


def config_components(core: Core, role: str) -> list[Component]:
    """The file's component when this process applies it: the full service does; workers
    only check what is stored."""
    path = core.settings.config_file
    return [ConfigFileComponent(core, path)] if role == "all" and path is not None else []


@dataclass
class ConfigFileComponent:
    core: Core
    path: Path
    name: str = "config"
    applied: int = 0  # applies that succeeded (start included)
    refused: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            report = await apply_file(self.core.service, self.path)
        except ConfigFileError as exc:
            raise ConfigurationError(f"LIGHTHOUSE_CONFIG: {self.path} is refused, nothing was "
                                     f"applied:\n{exc}") from None
        self._done(report)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
        self._task = asyncio.create_task(self._watch(report.next_window), name="config-file")

    def reload(self) -> None:
        """Apply the file again soon (SIGHUP)."""
        self._wake.set()

    async def _watch(self, next_window: datetime | None) -> None:
        while True:
            delay = None
            if next_window is not None:
                delay = max(0.0, (next_window - datetime.now(UTC)).total_seconds())
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass  # a maintenance window begins
            self._wake.clear()
            try:
                report = await apply_file(self.core.service, self.path)
            except ConfigFileError as exc:
                self.refused += 1
                next_window = None  # until the file is fixed and SIGHUP comes again
                log.error("config file refused; what was applied before stays",
                          extra={"file": str(self.path), "problems": str(exc)})
                continue
            except Exception:
                self.refused += 1
                next_window = None
                log.exception("config file could not be applied", extra={"file": str(self.path)})
                continue
            next_window = report.next_window
            self._done(report)

    def _done(self, report: ApplyReport) -> None:
        self.applied += 1
        log.info("config applied", extra={
            "file": str(self.path), "added": report.count("+"), "changed": report.count("~"),
            "removed": report.count("-"), "unchanged": report.unchanged,
            "next_window": report.next_window.isoformat() if report.next_window else None})
        for name in report.tokens:
            # The token is a secret and logs are not the place for it.
            log.warning("heartbeat created with a generated ping token that is shown nowhere; "
                        "set config.token in the file (from an environment variable)",
                        extra={"monitor": name})

    async def stop(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
