"""Running one check of any type: the scheduler, one-off checks (chat ``/monitor test``,
paid ``/v1/check``) and the CLI all go through here, so a check type that raises never
takes its caller down."""

from __future__ import annotations

import logging
from typing import Any

from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult, CheckType
from lighthouse.core.errors import LighthouseError

log = logging.getLogger(__name__)


async def run_check(type_name: str, raw_config: dict[str, Any], ctx: CheckContext) -> CheckResult:
    """Run one check of any type from its stored config; a bad config is a failed check."""
    try:
        check = get_check_type(type_name)
        config = parse_config(type_name, raw_config)
    except LighthouseError as exc:
        return not_runnable(exc)
    return await run_parsed(check, config, ctx)


async def run_parsed(check: CheckType[Any], config: CheckConfig, ctx: CheckContext) -> CheckResult:
    try:
        return await check.run(config, ctx)
    except Exception as exc:  # CancelledError is not an Exception: it propagates
        return crashed(check, exc)


def not_runnable(exc: LighthouseError) -> CheckResult:
    """The result of a check whose stored config or type was refused: a failed check."""
    return CheckResult(ok=False, error_code=exc.code, error=str(exc))


def crashed(check: CheckType[Any], exc: Exception) -> CheckResult:
    """The result of a check type that raised instead of returning a failed result."""
    log.exception("check type raised", extra={"type": check.name}, exc_info=exc)
    return CheckResult(ok=False, error_code="internal_error", error=type(exc).__name__)
