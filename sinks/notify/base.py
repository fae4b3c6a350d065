"""What every integration implements: deliver one batch, or say how it failed."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    """One sink. ``notify`` returns when the batch is delivered, or raises
    :class:`sinks.notify.exceptions.DeliveryError` saying whether to retry.

    The batch holds alerts of one grid in ``gw.alerts`` order; a receiver
    deduplicates on (``alert_id``, ``seq``) because delivery is at least once.
    """

    name: str

    def notify(self, alerts: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...
