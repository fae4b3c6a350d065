"""``gridwatch run``: broker, worker and a simulated city in one command, alerts live.

What it starts, in order, and stops in reverse (Ctrl-C, SIGTERM or
``--duration``):

1. the embedded Tansu broker, unless bootstrap servers are configured;
2. the topics (``gridwatch.broker.ensure_topics``);
3. a simulated city in ``WORKDIR/city`` when no ``--registry`` is given
   (reused when the same persons/days/seed were generated before);
4. the worker, as a ``gridwatch worker`` subprocess with the effective
   settings written to ``WORKDIR/config.yaml``; its log is ``WORKDIR/worker.log``;
5. the publisher thread, sending the city's feed at ``--speed`` event seconds
   per wall second in JSON-array batches;
6. a reader of ``gw.alerts`` that prints one line per alert update.

Children run in their own sessions, so a Ctrl-C reaches only this process,
which then stops them in order: a worker must checkpoint while its broker is
still up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import yaml

from config.models import Settings
from gridwatch.broker import BrokerError, EmbeddedBroker, ensure_topics, kafka_python_config
from gridwatch.events import STREAMS
from sinks.board.launch import announce_board
from sinks.topics import ensure_alert_topics
from streams.worker import worker_settings

STATUS_EVERY_S = 10.0
WORKER_STOP_S = 20.0
STOP_NO_BROKER_S = 3.0  # worker and publisher: what is left cannot reach a dead broker
COLORS = {"red": "\033[31m", "orange": "\033[33m", "yellow": "\033[93m", "blue": "\033[36m"}
RESET = "\033[0m"


class Stopped(Exception):
    """Ctrl-C, SIGTERM or the end of ``--duration`` arrived during start-up."""


class StopFlag:
    """Set by SIGINT/SIGTERM (no exception, so no traceback) or by the duration."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
            self.event.set()

    def check(self) -> None:
        if self.event.is_set():
            raise Stopped(self.reason)

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.set("interrupted" if signum == signal.SIGINT else "terminated")
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


# ---------------------------------------------------------------- the parts


PASSWORD_ENV = "GRIDWATCH_KAFKA__SASL_PASSWORD"


def write_config(settings: Settings, path: Path) -> Path:
    """The effective settings as YAML, so the worker runs exactly what we resolved.

    The SASL password (masked by a plain dump) is written only when it did not
    come from the environment, which the worker inherits anyway; a file that
    holds it is made readable by its owner only.
    """
    data = settings.model_dump(mode="json")
    secret = settings.kafka.sasl_password
    from_env = any(k.upper() == PASSWORD_ENV for k in os.environ)
    data["kafka"]["sasl_password"] = None if secret is None or from_env \
        else secret.get_secret_value()
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if data["kafka"]["sasl_password"] is not None:
        path.touch(mode=0o600)
        path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    return path


def prepare_city(workdir: Path, persons: int, days: int, seed: int) -> Path:
    """Generate the simulated city into ``workdir/city`` unless it is already there."""
    from gridwatch.simulate import simulate

    city = workdir / "city"
    stamp = city / "params.json"
    params = {"persons": persons, "days": days, "seed": seed}
    if stamp.exists() and orjson.loads(stamp.read_bytes()) == params and \
            (city / "feed.jsonl").exists():
        return city
    summary = simulate(city, persons=persons, days=days, seed=seed)
    stamp.write_bytes(orjson.dumps(params))
    first = str(summary).splitlines()[0]
    print(f"simulated {first}")
    return city


class WorkerProcess:
    """``gridwatch worker`` in a subprocess of its own session, logging to a file."""

    def __init__(self, config: Path, registry: Path | None, log_path: Path) -> None:
        self.cmd = [sys.executable, "-m", "gridwatch.cli", "worker", "--config", str(config)]
        if registry is not None:
            self.cmd += ["--registry", str(registry)]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_timeout_s = WORKER_STOP_S

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        """SIGTERM (Faust checkpoints and leaves the group), SIGKILL if it hangs."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def tail(self, lines: int = 20) -> str:
        return log_tail(self.log_path, lines)


def log_tail(path: Path | None, lines: int = 20) -> str:
    """The last lines of a child's log, for the error that says it died."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path else ""
    except OSError:
        return ""


class CountingProducer:
    """Wraps the publisher's producer to count what went out, for the status line."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self.messages = 0
        self.events = 0
        self.last_value: bytes | None = None

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        self.messages += 1
        self.events += value.count(b'"event_id"')
        self.last_value = value
        return self.producer.send(topic, value=value, key=key)

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout)

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is buffered, within ``timeout_s``. With the broker gone it cannot:
        say so and leave the rest to the producer's daemon thread, which dies with us."""
        from kafka.errors import KafkaError

        try:
            self.producer.close(timeout=timeout_s)
        except KafkaError as exc:
            print(f"publisher: messages still buffered were not delivered ({exc})",
                  file=sys.stderr)

    def event_time(self) -> str:
        """The ``ts`` of the newest event sent (decoded only when asked)."""
        if not self.last_value:
            return "-"
        data = orjson.loads(self.last_value)
        last = data[-1] if isinstance(data, list) and data else data
        return str(last.get("ts", "-"))[:16].replace("T", " ") if isinstance(last, dict) \
            else "-"


class Publisher:
    """The simulated city's feed, published from a thread at the accelerated clock."""

    def __init__(self, feed: Path, settings: Settings, speed: float) -> None:
        from kafka import KafkaProducer

        self.feed = feed
        self.topics = {s: settings.kafka.topics.for_stream(s) for s in STREAMS}
        self.speed = speed
        self.stop_event = threading.Event()
        self.producer = CountingProducer(KafkaProducer(**kafka_python_config(settings.kafka),
                                                       linger_ms=5, acks=1))
        self.error: BaseException | None = None
        self.done = False
        self.stop_timeout_s = 10.0  # to finish its send and deliver its buffer
        self.thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        from gridwatch.simulate.publish import publish

        try:
            publish(self.feed, topics=self.topics, speed=self.speed, stop=self.stop_event,
                    producer=self.producer)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            self.done = True

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(self.stop_timeout_s)
        self.producer.close(min(self.stop_timeout_s, 5.0))


class AlertPrinter:
    """Reads ``gw.alerts`` from its end (no group) and prints each new update once."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaConsumer, TopicPartition

        topic = settings.kafka.topics.alerts
        self.consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None,
                                      enable_auto_commit=False)
        parts = self.consumer.partitions_for_topic(topic) or {0}
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        self.consumer.seek_to_end(*tps)
        for tp in tps:
            self.consumer.position(tp)  # resolve "end" now, before the worker produces
        self.seen: set[tuple[str, int]] = set()
        self.kinds: Counter[str] = Counter()
        self.color = sys.stdout.isatty()

    def poll(self, timeout_s: float) -> int:
        printed = 0
        for records in self.consumer.poll(timeout_ms=int(timeout_s * 1000)).values():
            for record in records:
                printed += self._show(record.value)
        return printed

    def _show(self, value: bytes) -> int:
        try:
            alert = orjson.loads(value)
            key = (str(alert["alert_id"]), int(alert["seq"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return 0
        if key in self.seen:
            return 0  # at-least-once: a redelivered update is shown once
        self.seen.add(key)
        self.kinds[str(alert.get("kind"))] += 1
        print(format_alert(alert, self.color), flush=True)
        return 1

    def close(self) -> None:
        self.consumer.close()


def format_alert(alert: dict[str, Any], color: bool = False) -> str:
    """One readable line: event time, severity, kind, status, grid, summary."""
    severity = str(alert.get("severity", ""))
    sev = f"{severity.upper():<6}"
    if color and severity in COLORS:
        sev = f"{COLORS[severity]}{sev}{RESET}"
    ts = str(alert.get("ts", ""))[:16].replace("T", " ")
    grid = alert.get("grid", {}).get("grid_id", "")
    return (f"{ts}  {sev}  {alert.get('kind', ''):<16} {alert.get('status', ''):<8} "
            f"{grid:<10} {alert.get('summary', '')}")


# ---------------------------------------------------------------- the command


def run_command(args: argparse.Namespace) -> int:
    """Start everything, print alerts until stopped, stop everything; 0 on a clean stop."""
    stop = StopFlag()
    stop.install()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            return _run(args, workdir, stop, stack)
        except Stopped as exc:
            print(f"stopping ({exc})")
            return 0
        except (BrokerError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0  # pragma: no cover - the with block always returns


def _run(args: argparse.Namespace, workdir: Path, stop: StopFlag,
         stack: contextlib.ExitStack) -> int:
    started = time.monotonic()
    if args.duration is not None:
        timer = threading.Timer(args.duration, stop.set, args=(f"{args.duration:g} s elapsed",))
        timer.daemon = True
        timer.start()
        stack.callback(timer.cancel)
    settings = worker_settings(args.config, args.bootstrap)
    broker: EmbeddedBroker | None = None
    if not settings.kafka.bootstrap_servers:
        broker = EmbeddedBroker(log_path=workdir / "broker.log")
        stack.callback(broker.stop)
        bootstrap = broker.start()
        kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        settings = settings.model_copy(update={"kafka": kafka})
        print(f"embedded broker on {bootstrap} (in memory; log {broker.log_path})")
    stop.check()
    ensure_topics(settings)
    ensure_alert_topics(settings)
    registry = Path(args.registry) if args.registry else None
    feed: Path | None = None
    if registry is None and not args.no_simulate:
        city = prepare_city(workdir, args.persons, args.days, args.seed)
        registry, feed = city / "registry", city / "feed.jsonl"
    stop.check()
    printer = AlertPrinter(settings)
    stack.callback(printer.close)
    worker = WorkerProcess(write_config(settings, workdir / "config.yaml"), registry,
                           workdir / "worker.log")
    stack.callback(worker.stop)
    worker.start()
    print(f"worker started (log {worker.log_path}); alerts from "
          f"{settings.kafka.topics.alerts}:", flush=True)
    announce_board(worker.log_path, stop.event)
    publisher: Publisher | None = None
    if feed is not None:
        publisher = Publisher(feed, settings, args.speed)
        stack.callback(publisher.stop)
        publisher.start()
        print(f"publishing {feed} at {args.speed:g}× real time", flush=True)
    code = _watch(stop, printer, worker, publisher, broker)
    print(f"stopping ({stop.reason}) after "
          f"{time.monotonic() - started:.0f} s: {_summary(printer, publisher)}", flush=True)
    return code


def _watch(stop: StopFlag, printer: AlertPrinter, worker: WorkerProcess,
           publisher: Publisher | None, broker: EmbeddedBroker | None = None) -> int:
    """Print alerts until stopped; 1 if the broker, the worker or the publisher failed."""
    next_status = time.monotonic() + STATUS_EVERY_S
    reported_done = False
    while not stop.event.is_set():
        printer.poll(0.5)
        failure = _failure(worker, publisher, broker)
        if failure is not None:
            reason, detail = failure
            print(f"error: {reason}{detail}", file=sys.stderr)
            stop.set(reason)
            if broker is not None and broker.exit_code() is not None:
                _no_broker_to_wait_for(worker, publisher)
            return 1
        if publisher is not None and publisher.done and not reported_done:
            reported_done = True
            print(f"… the whole feed is published ({publisher.producer.events} events); "
                  f"Ctrl-C to stop", flush=True)
        if time.monotonic() >= next_status:
            next_status += STATUS_EVERY_S
            print(f"… {_summary(printer, publisher)}", flush=True)
    return 0


def _no_broker_to_wait_for(worker: WorkerProcess, publisher: Publisher | None) -> None:
    """Short stops: the worker's last checkpoint and the publisher's buffer cannot be
    delivered, and a send blocked on a dead broker's metadata never ends."""
    worker.stop_timeout_s = STOP_NO_BROKER_S
    if publisher is not None:
        publisher.stop_timeout_s = STOP_NO_BROKER_S


def _failure(worker: WorkerProcess, publisher: Publisher | None,
             broker: EmbeddedBroker | None) -> tuple[str, str] | None:
    """What died, and what to show about it: the run is pointless without any of them
    (a dead broker left the run printing status lines for minutes)."""
    if broker is not None and (code := broker.exit_code()) is not None:
        return (f"the embedded broker exited with code {code}",
                f" (its topics, in memory, are gone); last lines of {broker.log_path}:\n"
                f"{log_tail(broker.log_path)}")
    if (code := worker.exit_code()) is not None:
        return (f"the worker exited with code {code}",
                f"; last lines of {worker.log_path}:\n{worker.tail()}")
    if publisher is not None and publisher.error is not None:
        return "publishing failed", f": {publisher.error!r}"
    return None


def _summary(printer: AlertPrinter, publisher: Publisher | None) -> str:
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(printer.kinds.items())) or "none yet"
    if publisher is None:
        return f"alert updates: {kinds}"
    p = publisher.producer
    return (f"published {p.events} events in {p.messages} messages (event time "
            f"{p.event_time()}); alert updates: {kinds}")


# ---------------------------------------------------------------- stand-alone parts
# ``python -m gridwatch.runner publish CITY`` and ``… watch``: the publisher and the
# alert printer without a broker or worker of their own, for docker compose and
# for a worker deployed elsewhere.

REGISTRY_SETTLE_S = 2.0


def publish_city(city: Path, settings: Settings, speed: float, stop: StopFlag) -> int:
    """Publish a simulated city's registry to ``gw.registry``, then its feed."""
    from sinks.kafka import publish_registry

    rows = publish_registry(city / "registry", settings.kafka)
    print(f"published {rows} registry records to {settings.kafka.topics.registry}", flush=True)
    stop.event.wait(REGISTRY_SETTLE_S)  # let workers apply them before the first events
    publisher = Publisher(city / "feed.jsonl", settings, speed)
    publisher.start()
    try:
        while not publisher.done and not stop.event.is_set():
            stop.event.wait(STATUS_EVERY_S)
            p = publisher.producer
            print(f"… published {p.events} events (event time {p.event_time()})", flush=True)
    finally:
        publisher.stop()
    if publisher.error is not None:
        print(f"error: publishing failed: {publisher.error!r}", file=sys.stderr)
        return 1
    return 0


def watch(settings: Settings, stop: StopFlag) -> int:
    """Print alert updates as they arrive until Ctrl-C."""
    printer = AlertPrinter(settings)
    try:
        while not stop.event.is_set():
            printer.poll(0.5)
    finally:
        printer.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridwatch.runner")
    sub = parser.add_subparsers(dest="action", required=True)
    pub = sub.add_parser("publish", help="publish a simulated city's registry and feed")
    pub.add_argument("city", type=Path, help="a directory written by `gridwatch simulate`")
    pub.add_argument("--speed", type=float, default=3600.0)
    wat = sub.add_parser("watch", help="print alert updates as they arrive")
    for p in (pub, wat):
        p.add_argument("--config")
        p.add_argument("--bootstrap")
    args = parser.parse_args(argv)
    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        parser.error("needs Kafka: --bootstrap or GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS")
    stop = StopFlag()
    stop.install()
    ensure_topics(settings)
    if args.action == "publish":
        return publish_city(args.city, settings, args.speed, stop)
    return watch(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
