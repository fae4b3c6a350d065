"""``gridwatch notify``: a Kafka consumer loop per sink, delivering ``gw.alerts``.

Why a separate process reading ``gw.alerts``, not a step of the worker: the
worker's input must never wait for a slow webhook, and an alert on
``gw.alerts`` is already durable. Each sink is its own consumer group
(``<group_prefix>-<sink name>``), so a webhook that is down delays only
itself, and its offsets are committed only after each poll was delivered or
dead-lettered (to ``gw.alerts.undelivered``, acknowledged by the broker).
A crash in between redelivers: at least once, deduplicated by receivers on
(``alert_id``, ``seq``).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from config.alerts import FileSink, SinkBase, WebhookSink
from config.models import Settings
from gridwatch.events import parse_tz
from sinks.notify.base import Notifier
from sinks.notify.file import FileNotifier
from sinks.notify.metrics import sink_metrics
from sinks.notify.stage import SinkStage
from sinks.notify.webhook import WebhookNotifier

log = logging.getLogger(__name__)

POLL_MS = 500
RESTART_WAIT_S = 2.0


def notifier_for(config: SinkBase) -> Notifier:
    if isinstance(config, WebhookSink):
        return WebhookNotifier(config)
    if isinstance(config, FileSink):
        return FileNotifier(config)
    raise TypeError(f"no notifier for {type(config).__name__}")


def configured_sinks(settings: Settings, webhooks: Sequence[str] = (),
                     files: Sequence[str] = ()) -> list[SinkBase]:
    """Sinks of the config plus ad-hoc ``--webhook URL`` / ``--file PATH`` ones.

    An ad-hoc sink is named after a digest of its target, so restarting with
    the same URL resumes its consumer group instead of starting over.
    """
    notify = settings.alerts.notify
    sinks: list[SinkBase] = [*notify.webhooks, *notify.files]
    for url in webhooks:
        sinks.append(WebhookSink(name="webhook-" + _digest(url), url=url))
    for path in files:
        sinks.append(FileSink(name="file-" + _digest(path), path=path))
    return sinks


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class SinkLoop(threading.Thread):
    """One sink: poll ``gw.alerts``, hand the poll to its stage, commit, repeat.

    A Kafka error (the broker away, the dead letter not acknowledged) closes
    the consumer without committing and starts over from the committed
    offsets after a pause: nothing is lost, some alerts are sent twice.
    """

    def __init__(self, settings: Settings, config: SinkBase, stop: threading.Event,
                 notifier: Notifier | None = None) -> None:
        super().__init__(name=f"notify-{config.name}", daemon=True)
        self.settings = settings
        self.config = config
        self.stop_event = stop
        self.notifier = notifier or notifier_for(config)
        self.group_id = f"{settings.alerts.notify.group_prefix}-{config.name}"
        self.stage = SinkStage(config, self.notifier, self._dead, stop.wait,
                               parse_tz(settings.pipeline.timezone))
        self._producer: Any = None
        self.polls = 0

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    self._consume()
                except Exception as exc:  # noqa: BLE001 - restart from committed offsets
                    log.warning("sink %s: %r; restarting from the committed offsets",
                                self.config.name, exc)
                    self.stop_event.wait(RESTART_WAIT_S)
        finally:
            self.notifier.close()
            if self._producer is not None:
                self._producer.close(timeout=5)

    def _consume(self) -> None:
        from kafka import KafkaConsumer

        from gridwatch.broker import kafka_python_config

        retry = self.config.retry
        worst_poll_s = self.config.batch_max * (retry.give_up_after_s + retry.max_backoff_s)
        consumer = KafkaConsumer(
            self.settings.kafka.topics.alerts, **kafka_python_config(self.settings.kafka),
            group_id=self.group_id, enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=self.config.batch_max,
            # a group join waits half the session timeout: keep restarts quick
            session_timeout_ms=6000, heartbeat_interval_ms=2000,
            # retries happen between polls: the group must not evict us meanwhile
            max_poll_interval_ms=int(max(300.0, worst_poll_s + 60) * 1000))
        try:
            while not self.stop_event.is_set():
                polled = consumer.poll(timeout_ms=POLL_MS)
                values = [m.value for tp in sorted(polled, key=lambda tp: tp.partition)
                          for m in polled[tp]]
                if not values:
                    continue
                if not self.stage.handle(values):
                    return  # shutting down mid-retry: not committed, redelivered next time
                consumer.commit()
                sink_metrics().sync(self.config.name, self.stage.stats)
                self.polls += 1
        finally:
            consumer.close(autocommit=False)

    def _dead(self, key: bytes, value: bytes) -> None:
        """Put a dead letter on ``gw.alerts.undelivered`` and wait for the acknowledgement."""
        if self._producer is None:
            from kafka import KafkaProducer

            from gridwatch.broker import kafka_python_config

            self._producer = KafkaProducer(**kafka_python_config(self.settings.kafka),
                                           acks="all", linger_ms=0)
        future = self._producer.send(self.settings.kafka.topics.alerts_undelivered,
                                     key=key or None, value=value)
        future.get(timeout=30)


def run_sinks(settings: Settings, sinks: list[SinkBase], stop: threading.Event,
              duration_s: float | None = None) -> list[SinkLoop]:
    """Start a loop per sink and wait until ``stop`` is set (or ``duration_s`` passed)."""
    loops = [SinkLoop(settings, sink, stop) for sink in sinks]
    for loop in loops:
        loop.start()
    deadline = time.monotonic() + duration_s if duration_s else None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    stop.set()
    for loop in loops:
        loop.join(timeout=30)
    return loops


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers")
    p.add_argument("--webhook", action="append", default=[], metavar="URL",
                   help="also POST alerts to this URL (repeatable)")
    p.add_argument("--file", action="append", default=[], metavar="PATH",
                   help="also append alerts to this JSONL file (repeatable)")
    p.add_argument("--sink", action="append", default=[], metavar="NAME",
                   help="run only the named configured sinks")
    p.add_argument("--duration", type=float, help="stop after this many wall seconds")


def _start_metrics(settings: Settings) -> None:
    """Deliveries, failures and retries per sink on Prometheus (docs/observability.md)."""
    from prometheus_client import REGISTRY

    from gridwatch.metrics_http import start_metrics

    obs = settings.observability
    start_metrics(REGISTRY, obs.bind_host, obs.notify_metrics_port)


def notify_command(args: argparse.Namespace) -> int:
    """Run every configured (or named) sink until Ctrl-C."""
    from sinks.topics import ensure_alert_topics
    from streams.worker import worker_settings

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO)
    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        print("error: no Kafka bootstrap servers (use --bootstrap, the config file or "
              "GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS)")
        return 2
    sinks = configured_sinks(settings, args.webhook, args.file)
    if args.sink:
        sinks = [s for s in sinks if s.name in args.sink]
    if not sinks:
        print("error: no sinks: configure alerts.notify.webhooks/files, or pass --webhook "
              "URL / --file PATH")
        return 2
    ensure_alert_topics(settings)
    _start_metrics(settings)
    for s in sinks:
        print(f"sink {s.name}: group {settings.alerts.notify.group_prefix}-{s.name}")
    loops = run_sinks(settings, sinks, threading.Event(), args.duration)
    for loop in loops:
        print(f"sink {loop.config.name}: {loop.stage.stats}")
    return 0
