"""The pure notify pipeline of one sink: decode → filter → group by grid → deliver → dead letter.

No Kafka here: the runner hands over the values of one poll and commits
only when :meth:`SinkStage.handle` returns True, i.e. when every alert of the
poll was delivered, filtered out, or kept as a dead letter. A crash before
that commit redelivers the poll (at least once; receivers deduplicate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from config.alerts import SinkBase
from sinks.labels import matches
from sinks.notify.base import Notifier
from sinks.notify.retry import Outcome, deliver
from sinks.route import routed_to

log = logging.getLogger(__name__)

DeadFn = Callable[[bytes, bytes], None]  # (key, value) → sent and acknowledged, or raises


def selected(config: SinkBase, alert: dict[str, Any]) -> bool:
    """Does this sink want the alert? Its ``match`` and ``routed_to`` filters."""
    subject = alert.get("subject") or {}
    labels = {"kind": alert.get("kind", ""), "severity": alert.get("severity", ""),
              "subject_type": subject.get("type", ""), "subject_id": subject.get("id", ""),
              "status": alert.get("status", ""), **{k: str(v) for k, v in
                                                    (alert.get("grid") or {}).items()}}
    if not matches(config.match, labels):
        return False
    return not config.routed_to or routed_to(alert, config.routed_to)


def by_grid(alerts: Iterable[dict[str, Any]], batch_max: int) -> list[list[dict[str, Any]]]:
    """Batches of one grid each, in order of first appearance; a grid's order is kept.

    >>> a = [{"grid": {"grid_id": g}, "n": i} for i, g in enumerate("xyxxy")]
    >>> [[x["n"] for x in b] for b in by_grid(a, 2)]
    [[0, 2], [3], [1, 4]]
    """
    grids: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        grids.setdefault(str((alert.get("grid") or {}).get("grid_id", "")), []).append(alert)
    return [group[i:i + batch_max] for group in grids.values()
            for i in range(0, len(group), batch_max)]


@dataclass
class SinkStage:
    """One sink's pipeline; ``wait(s)`` sleeps between retries, True when stopping."""

    config: SinkBase
    notifier: Notifier
    dead: DeadFn
    wait: Callable[[float], bool]
    tz: timezone
    stats: dict[str, int] = field(default_factory=lambda: {
        "delivered": 0, "batches": 0, "skipped": 0, "dead": 0, "retries": 0})

    def handle(self, values: Iterable[bytes | None]) -> bool:
        """Deliver one poll's alerts; False if interrupted by shutdown (do not commit)."""
        alerts: list[dict[str, Any]] = []
        for raw in values:
            alert = self._decode(raw)
            if alert is None:
                continue
            if selected(self.config, alert):
                alerts.append(alert)
            else:
                self.stats["skipped"] += 1
        for batch in by_grid(alerts, self.config.batch_max):
            outcome = deliver(self.notifier, batch, self.config.retry, self.wait)
            self.stats["retries"] += outcome.attempts - 1
            if outcome.stopped:
                return False
            if outcome.ok:
                self.stats["delivered"] += len(batch)
                self.stats["batches"] += 1
            else:
                self._dead_letter(batch, outcome)
        return True

    def _decode(self, raw: bytes | None) -> dict[str, Any] | None:
        try:
            alert = orjson.loads(raw or b"")
            if isinstance(alert, dict) and isinstance(alert.get("grid"), dict):
                return alert
            error = "not an alert object"
        except orjson.JSONDecodeError as exc:
            error = f"invalid JSON ({exc})"
        text = (raw or b"").decode("utf-8", "replace")
        self.stats["dead"] += 1
        self.dead(b"", orjson.dumps({"sink": self.config.name, "error": error, "raw": text,
                                     "attempts": 0}))
        return None

    def _dead_letter(self, batch: list[dict[str, Any]], outcome: Outcome) -> None:
        log.warning("sink %s: %d alerts to the dead letter after %d attempts: %s",
                    self.config.name, len(batch), outcome.attempts, outcome.error)
        self.stats["dead"] += len(batch)
        record = {"sink": self.config.name, "error": outcome.error,
                  "attempts": outcome.attempts,
                  "first_attempt_at": datetime.fromtimestamp(outcome.first_at, self.tz).isoformat(),
                  "last_attempt_at": datetime.fromtimestamp(outcome.last_at, self.tz).isoformat(),
                  "alerts": batch}
        self.dead(str(batch[0]["grid"].get("grid_id", "")).encode(), orjson.dumps(record))
