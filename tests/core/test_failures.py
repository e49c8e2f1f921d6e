"""Check failures as people read them (core/checks/failures.py): each stable error code has
its own catalog message, in English and Spanish, and the library's text is never shown
where a code is known."""

from __future__ import annotations

import pytest
from lighthouse.core.alerts.render import render
from lighthouse.core.checks.failures import MESSAGES, describe_failure, failure_code
from lighthouse.core.i18n import gettext

RAW = "ClientConnectorError: [Errno 111] Connect call failed ('203.0.113.9', 443)"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_is_told_in_both_languages(code: str) -> None:
    english = describe_failure("en", code, RAW, 503)
    spanish = describe_failure("es", code, RAW, 503)
    assert english and spanish and english != spanish, code
    assert "Errno" not in english + spanish and "203.0.113.9" not in english + spanish
    assert english == gettext("en", MESSAGES[failure_code(code, RAW) or code]).format(status=503)


def test_a_refused_connection_is_told_apart_from_other_connection_failures() -> None:
    assert failure_code("connection_error", RAW) == "connection_refused"
    assert failure_code("connection_error", "connection failed: [Errno 113] No route") == (
        "connection_error")
    assert describe_failure("es", "connection_error", RAW) == (
        "conexión rechazada: nada escucha en ese puerto")


def test_an_unknown_code_keeps_the_stored_text() -> None:
    assert describe_failure("es", "brand_new_code", "something new") == "something new"
    assert describe_failure("es", None, None) is None


def test_alerts_say_the_failure_in_the_recipients_language() -> None:
    payload = {"kind": "down", "monitor_name": "nodo", "monitor_type": "evm_rpc",
               "error_code": "stale_block", "error": "latest block is 620 s old (max 60 s)",
               "language": "es"}
    text = render("downtime", "critical", payload, "es").text
    assert "Error: bloque atrasado: el último bloque del nodo es demasiado antiguo" in text
    assert "latest block" not in text
    timeout = render("downtime", "critical", {**payload, "error_code": "timeout",
                                              "error": "timed out"}, "en").text
    assert "Error: timed out: no answer in time" in timeout


def test_a_failure_pings_own_message_is_kept_beside_the_localized_words() -> None:
    stored = "the last ping reported a failure: exit 2: backup failed"
    assert describe_failure("es", "heartbeat_failed", stored) == (
        "el trabajo informó de un fallo: exit 2: backup failed")
    assert describe_failure("en", "heartbeat_failed", "the last ping reported a failure") == (
        "the job reported a failure")


def test_an_unexpected_status_names_it_without_the_status_column() -> None:
    assert describe_failure("es", "unexpected_status", "HTTP 503, expected [200]") == (
        "estado HTTP inesperado 503")
    assert describe_failure("en", "unexpected_status", "HTTP 404", 404) == (
        "unexpected HTTP status 404")
