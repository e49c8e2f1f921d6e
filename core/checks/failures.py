"""What a failed check says to a person: one catalog message per stable error code.

A check stores a stable ``error_code`` (timeout, tls_error, stale_block, ...) beside a
short English text for logs and the API. People read the code's message in their own
language instead (chat replies and alerts both come here), never the library's words.
A code without a message here (a newer check type, a condition's own reason) falls back
to the stored text, so nothing is ever lost.
"""

from __future__ import annotations

import re
from typing import Any

from lighthouse.core.checks.base import mark as _
from lighthouse.core.checks.heartbeat import FAILED_PING
from lighthouse.core.i18n import gettext

MESSAGES: dict[str, str] = {
    "timeout": _("timed out: no answer in time"),
    "connection_refused": _("connection refused: nothing listens on that port"),
    "connection_error": _("the connection failed"),
    "dns_error": _("DNS lookup failed: the host name does not resolve"),
    "tls_error": _("TLS error: the secure connection failed"),
    "tls_certificate": _("TLS error: the certificate is not valid"),
    "tls_expired": _("TLS error: the certificate has expired"),
    "too_many_redirects": _("too many redirects"),
    "protocol_error": _("the server closed the connection or sent an unreadable answer"),
    "http_error": _("the HTTP request failed"),
    "unexpected_status": _("unexpected HTTP status {status}"),
    "slow_response": _("too slow: the response time is over the limit"),
    "target_not_allowed": _("the target points to an address Lighthouse may not check"),
    "condition_failed": _("a condition failed"),
    "internal_error": _("Lighthouse could not run this check"),
    "stale_block": _("stale block: the node's latest block is too old"),
    "wrong_chain": _("wrong chain: the node serves another chain id"),
    "block_lag": _("the node is behind the reference node"),
    "block_not_advancing": _("the block number is not advancing"),
    "rpc_error": _("the node answered with a JSON-RPC error"),
    "rpc_http_error": _("the node answered with an HTTP error"),
    "rpc_invalid_response": _("the node's answer is not valid JSON-RPC"),
    "balance_critical": _("the balance is below the critical threshold"),
    "heartbeat_missing": _("no ping arrived in time"),
    "heartbeat_late": _("the next ping is overdue"),
    "run_too_long": _("the job has run longer than allowed"),
    "heartbeat_failed": _("the job reported a failure"),
    "unexpected_answer": _("the DNS answer is not the expected one"),
    "unexpected_rcode": _("the DNS server answered with an error"),
    "unexpected_banner": _("the service answered something unexpected"),
    "unexpected_reply": _("the service answered something unexpected"),
}

# Library texts that tell a refused connection from other failures of the same class.
_REFUSED = ("refused", "errno 111", "errno 61", "[winerror 10061]")


def failure_code(code: str | None, text: str | None) -> str | None:
    """The code whose message describes this failure best."""
    if code == "connection_error" and text and any(w in text.lower() for w in _REFUSED):
        return "connection_refused"
    return code


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
# Codes whose stored text ends in words that are the user's own, not the library's (a
# failure ping's message, "exit 2: backup failed"): kept after the localized message.
_OWN_WORDS_AFTER = {"heartbeat_failed": FAILED_PING + ": "}


def describe_failure(lang: str, code: str | None, text: str | None,
                     status: Any = None) -> str | None:
    """The failure in ``lang``: its code's message, else the stored text (or None)."""
    message = MESSAGES.get(failure_code(code, text) or "")
    if message is None:
        return text
    if status is None and text and (found := _HTTP_STATUS.search(text)):
        status = found.group(1)  # a monitor row keeps the text, not the status code
    said = gettext(lang, message).format(status=status if status is not None else "?")
    prefix = _OWN_WORDS_AFTER.get(code or "")
    if prefix and text and text.startswith(prefix) and text[len(prefix):].strip():
        said += ": " + text[len(prefix):].strip()
    return said
