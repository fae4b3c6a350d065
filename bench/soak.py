"""Soak: a simulated city at a steady rate for a long time; the worker's memory must stay flat.

    .venv/bin/python bench/soak.py                     # 60 minutes at 500 events/s
    .venv/bin/python bench/soak.py --minutes 5 --rate 2000

On demand, not in CI (issue 9, "Trust"). Starts the embedded broker and one
``gridwatch worker``, then publishes a simulated city's feed in JSON-array
batches at ``--rate`` events per wall second, looping it for as long as needed:
each loop shifts event time by the feed's span and renames the event ids, so
the worker sees one long, fresh history rather than duplicates. Every
``--every`` seconds it prints the worker's resident memory (``/proc``), events
sent and alert updates seen. Memory grows while the bounded structures fill
(the event-id memory, ``pipeline.dedup_capacity``; episode books; detector
baselines), so the verdict compares the second half of the run with its end:
"flat" when the last sample is within ``--tolerance`` of the median of the
second half. Exit code 1 when it is not flat or the worker died.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from config.models import Settings, load_settings  # noqa: E402
from gridwatch.broker import EmbeddedBroker, ensure_topics, kafka_python_config  # noqa: E402
from gridwatch.runner import WorkerProcess, write_config  # noqa: E402

BATCH = 100


def looped_feed(feed: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The feed again and again, each pass later by the feed's span, with fresh ids."""
    events = [orjson.loads(line) for line in feed.open("rb") if line.strip()]
    times = [datetime.fromisoformat(e["ts"]) for e in events]
    span = max(times) - min(times) + timedelta(minutes=1)
    n = 0
    while True:
        shift = span * n
        for event, ts in zip(events, times, strict=True):
            out = dict(event)
            stream = out.pop("stream")
            out["ts"] = (ts + shift).isoformat()
            out["event_id"] = f"{event['event_id']}~{n}"
            yield stream, out
        n += 1


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Publisher(threading.Thread):
    """Sends the looped feed at a steady rate until stopped."""

    def __init__(self, feed: Path, settings: Settings, rate: float) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaProducer

        self.producer = KafkaProducer(**kafka_python_config(settings.kafka), linger_ms=5,
                                      acks=1)
        t = settings.kafka.topics
        self.topics = {"access": t.access, "iot": t.iot, "report": t.reports}
        self.feed, self.rate = feed, rate
        self.sent = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        pending: dict[str, list[dict[str, Any]]] = {}
        for stream, event in looped_feed(self.feed):
            if self.stop_event.is_set():
                break
            batch = pending.setdefault(stream, [])
            batch.append(event)
            if len(batch) >= BATCH:
                self.producer.send(self.topics[stream], orjson.dumps(batch),
                                   key=stream.encode())
                self.sent += len(batch)
                batch.clear()
                ahead = start + self.sent / self.rate - time.monotonic()
                if ahead > 0:
                    self.stop_event.wait(ahead)
        self.producer.flush()
        self.producer.close()


def count_alerts(seen: set[tuple[str, int]], consumer: Any) -> None:
    for records in consumer.poll(timeout_ms=200).values():
        for r in records:
            alert = orjson.loads(r.value)
            seen.add((alert["alert_id"], alert["seq"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0, help="events per wall second")
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--tolerance", type=float, default=0.10,
                        help="allowed growth of the last sample over the second half's median")
    args = parser.parse_args(argv)

    from kafka import KafkaConsumer, TopicPartition

    from gridwatch.simulate import simulate

    work = Path(tempfile.mkdtemp(prefix="gridwatch-soak-"))
    simulate(work / "city", persons=args.persons, days=args.days, seed=1)
    with EmbeddedBroker(log_path=work / "broker.log") as broker:
        base = load_settings()
        settings = base.model_copy(update={"kafka": base.kafka.model_copy(
            update={"bootstrap_servers": broker.bootstrap})})
        ensure_topics(settings)
        worker = WorkerProcess(write_config(settings, work / "config.yaml"),
                               work / "city" / "registry", work / "worker.log")
        worker.start()
        consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None,
                                 auto_offset_reset="earliest")
        consumer.assign([TopicPartition(settings.kafka.topics.alerts, p)
                         for p in range(settings.kafka.partitions)])
        publisher = Publisher(work / "city" / "feed.jsonl", settings, args.rate)
        publisher.start()
        print(f"soak: {args.minutes:g} min at {args.rate:g} events/s; work dir {work}")
        print(f"{'minute':>7} {'sent':>10} {'alerts':>8} {'worker RSS MB':>14}")
        samples: list[float] = []
        alerts: set[tuple[str, int]] = set()
        start = time.monotonic()
        next_sample = start + args.every
        end = start + args.minutes * 60
        try:
            while time.monotonic() < end:
                count_alerts(alerts, consumer)
                if worker.exit_code() is not None:
                    print(f"worker died:\n{worker.tail()}")
                    return 1
                if time.monotonic() >= next_sample and worker.proc is not None:
                    next_sample += args.every
                    samples.append(rss_mb(worker.proc.pid))
                    print(f"{(time.monotonic() - start) / 60:7.1f} {publisher.sent:10d} "
                          f"{len(alerts):8d} {samples[-1]:14.1f}", flush=True)
        finally:
            publisher.stop_event.set()
            publisher.join(10)
            consumer.close()
            worker.stop()
    if len(samples) < 4:
        print("too short to judge memory (fewer than 4 samples)")
        return 0
    half = statistics.median(samples[len(samples) // 2:])
    growth = samples[-1] / half - 1
    verdict = "flat" if growth <= args.tolerance else "GROWING"
    print(f"memory {verdict}: last {samples[-1]:.1f} MB vs second-half median {half:.1f} MB "
          f"({growth:+.1%}); sent {publisher.sent} events, {len(alerts)} alert updates")
    return 0 if verdict == "flat" else 1


if __name__ == "__main__":
    sys.exit(main())
