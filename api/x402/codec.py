"""Header codecs: standard padded base64 of UTF-8 camelCase JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

V2_PAYMENT = "PAYMENT-SIGNATURE"
V1_PAYMENT = "X-PAYMENT"
V2_REQUIRED = "PAYMENT-REQUIRED"
V2_RESPONSE = "PAYMENT-RESPONSE"
V1_RESPONSE = "X-PAYMENT-RESPONSE"


def encode(obj: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode("ascii")
