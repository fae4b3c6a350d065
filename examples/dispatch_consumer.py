"""An example dispatch-side consumer of ``gw.alerts`` (kafka-python).

What every integrator of the dispatch queue must do, in ~100 lines:

1. deduplicate on (``alert_id``, ``seq``): delivery is at least once, so the
   same update can arrive twice (a worker restart, a redelivered batch);
2. keep the *latest* state per episode (``alert_id``): an update with a
   lower ``seq`` than one already applied is old news and must not undo it
   (``seq`` may have gaps: updates muted by a silence or inhibition);
3. close the episode on ``status: resolved``.

Run it against a broker and print one grid's open queue::

    python examples/dispatch_consumer.py --bootstrap 127.0.0.1:9092 --grid grid-0103

Without ``--group`` it reads the whole topic from the start and commits
nothing (a viewer); with ``--group`` it is a member of a consumer group that
commits after applying each poll (a real dispatch consumer).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

SEVERITY_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}


@dataclass
class DispatchQueue:
    """Episodes by id, their latest update, and the (alert_id, seq) pairs already seen."""

    seen: set[tuple[str, int]] = field(default_factory=set)
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0

    def apply(self, alert: dict[str, Any]) -> bool:
        """Apply one update; False if it was a duplicate or older than what we have."""
        key = (alert["alert_id"], int(alert["seq"]))
        if key in self.seen:
            self.duplicates += 1
            return False
        self.seen.add(key)
        current = self.episodes.get(alert["alert_id"])
        if current is not None and current["seq"] > alert["seq"]:
            return False  # an older update arriving late: keep the newer state
        self.episodes[alert["alert_id"]] = alert
        return True

    def open_queue(self, grid_id: str | None = None) -> list[dict[str, Any]]:
        """Open episodes (of one grid), most urgent first, then oldest first."""
        items = [a for a in self.episodes.values() if a["status"] == "firing"
                 and (grid_id is None or a["grid"]["grid_id"] == grid_id)]
        return sorted(items, key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9),
                                            a["starts_at"]))


def line(a: dict[str, Any]) -> str:
    return (f"[{a['severity']:6}] {a['kind']:16} {a['subject']['type']}:{a['subject']['id']:12} "
            f"since {a['starts_at']}  seq {a['seq']}  → {a['assignee']['worker_id']}  "
            f"{a['summary']}")


def consume(bootstrap: str, topic: str, group: str | None, idle_s: float | None,
            queue: DispatchQueue) -> DispatchQueue:
    """Apply every update on ``topic`` until ``idle_s`` seconds pass without one."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    last = time.monotonic()
    try:
        while idle_s is None or time.monotonic() - last < idle_s:
            polled = consumer.poll(timeout_ms=500)
            for messages in polled.values():
                for m in messages:
                    queue.apply(json.loads(m.value))
                    last = time.monotonic()
            if polled and group:
                consumer.commit()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return queue


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="gw.alerts")
    p.add_argument("--grid", help="print only this grid's queue")
    p.add_argument("--group", help="consumer group (commit offsets); default: read-only viewer")
    p.add_argument("--idle", type=float, default=5.0,
                   help="stop after this many seconds without an update (0: run until Ctrl-C)")
    args = p.parse_args(argv)
    queue = consume(args.bootstrap, args.topic, args.group, args.idle or None, DispatchQueue())
    items = queue.open_queue(args.grid)
    print(f"{len(items)} open episodes" + (f" in {args.grid}" if args.grid else "")
          + f" ({len(queue.seen)} updates, {queue.duplicates} duplicates dropped)")
    for a in items:
        print(line(a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
