"""The HTTP webhook sink: POST a JSON envelope of one grid's alerts.

The standard library's ``urllib`` is enough for one POST with a timeout, and
keeps the notify stage free of another HTTP dependency. The body::

    {"version": "1", "receiver": "<sink name>", "grid_id": "grid-0103",
     "alerts": [<gw.alerts objects>]}

Headers: ``Content-Type: application/json``, ``Idempotency-Key`` (a digest
of the batch's (alert_id, seq) pairs: the same batch sent again carries the
same key) and the configured ``headers`` (e.g. an ``Authorization`` token).
Any 2xx is success; 408, 425, 429 and 5xx, timeouts and connection errors are
recoverable; any other status is not (the receiver refuses the content).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from config.alerts import WebhookSink
from sinks.notify.exceptions import DeliveryError

RECOVERABLE_STATUS = frozenset({408, 425, 429})
ENVELOPE_VERSION = "1"


def envelope(receiver: str, alerts: list[dict[str, Any]]) -> bytes:
    grid = alerts[0]["grid"]["grid_id"] if alerts else ""
    return orjson.dumps({"version": ENVELOPE_VERSION, "receiver": receiver, "grid_id": grid,
                         "alerts": alerts})


def idempotency_key(alerts: list[dict[str, Any]]) -> str:
    pairs = ",".join(f"{a['alert_id']}/{a['seq']}" for a in alerts)
    return hashlib.sha256(pairs.encode()).hexdigest()[:32]


def recoverable_status(status: int) -> bool:
    return status >= 500 or status in RECOVERABLE_STATUS


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (then relative to now)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class WebhookNotifier:
    def __init__(self, config: WebhookSink) -> None:
        self.name = config.name
        self.config = config

    def notify(self, alerts: list[dict[str, Any]]) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "gridwatch-notify/1",
                   "Idempotency-Key": idempotency_key(alerts), **self.config.headers}
        request = urllib.request.Request(self.config.url, data=envelope(self.name, alerts),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise DeliveryError(f"{self.config.url}: HTTP {exc.code} {exc.reason}",
                                    recoverable_status(exc.code),
                                    retry_after(exc.headers.get("Retry-After"))) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{self.config.url}: {reason}", recoverable=True) from None

    def close(self) -> None:
        return None
