"""A loop that retries while a dependency is away logs its first failure with the
traceback, then nothing until it works again, then one line saying for how long."""

from __future__ import annotations

import logging

import pytest
from lighthouse.core.faultlog import RepeatedFailure


def test_one_line_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.faultlog")
    failures = RepeatedFailure(log, "claiming due monitors")
    with caplog.at_level(logging.INFO, logger="test.faultlog"):
        failures.succeeded()  # nothing failed: nothing to say
        for _ in range(50):
            try:
                raise ConnectionRefusedError("database away")
            except ConnectionRefusedError:
                failures.failed()
        assert failures.failing and failures.failures == 50
        failures.succeeded()
        failures.succeeded()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines[0] == ("ERROR", "claiming due monitors failed; retrying (repeats are counted, not logged)")
    assert caplog.records[0].exc_info is not None
    assert len(lines) == 2
    assert lines[1][0] == "WARNING" and "works again after" in lines[1][1]
    assert "(50 attempts failed)" in lines[1][1]
    assert not failures.failing and failures.failures == 0
