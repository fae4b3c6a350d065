"""Where silences live: the compacted ``gw.silences`` topic, or a JSONL file for replay.

* :func:`read_topic` / :func:`write_topic`: the ``gridwatch silence`` command
  reads the whole topic (kafka-python, no consumer group), changes one
  silence and writes its new version back.
* :class:`SilenceFollower`: what each worker runs (aiokafka, like the
  registry follower): it applies every record to the process's shared
  :class:`sinks.silence.SilenceBook`, which all its engines consult.
* :func:`silence_command`: ``gridwatch silence add|list|expire``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.models import Settings
from gridwatch.events import parse_tz
from sinks.silence import (
    Silence,
    SilenceBook,
    SilenceError,
    expire,
    load_silences,
    new_silence,
    parse_matchers,
    pseudonym,
)

log = logging.getLogger(__name__)

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


# ---------------------------------------------------------------- topic I/O


def read_topic(settings: Settings, timeout_s: float = 30.0) -> SilenceBook:
    """Every silence on the topic, latest version per id (reads up to the end offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    from gridwatch.broker import kafka_python_config

    topic = settings.kafka.topics.silences
    consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    book = SilenceBook()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return book
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} stalled")
            for msgs in consumer.poll(timeout_ms=500).values():
                for m in msgs:
                    _apply(book, m.key, m.value)
        return book
    finally:
        consumer.close()


def write_topic(settings: Settings, silence: Silence) -> None:
    from sinks.kafka import send_records

    send_records(settings.kafka, settings.kafka.topics.silences, [silence.record()])


def _apply(book: SilenceBook, key: bytes | None, value: bytes | None) -> None:
    try:
        book.apply(key, value)
    except (ValidationError, ValueError) as exc:
        log.warning("skipped a bad silence record %r: %s", key, exc)


class SilenceFollower:
    """Reads ``gw.silences`` from the start and keeps applying it to a shared book.

    Every engine of the process sees the change at its next ``advance``; an
    update muted meanwhile is released when its silence ends (see
    :mod:`sinks.dispatch`). ``ready`` is set once the follower caught up.
    """

    def __init__(self, settings: Settings, book: SilenceBook) -> None:
        self.settings = settings
        self.book = book
        self.topic = settings.kafka.topics.silences
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Follow until cancelled; a failure is logged and reading starts over (applying a
        record twice is harmless: the latest version of a silence simply wins again)."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - silences must not stop the worker
                log.warning("reader of %s failed, restarting in 5 s: %r", self.topic, exc)
                await asyncio.sleep(5.0)

    async def _follow(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from gridwatch.broker import aiokafka_config

        consumer = AIOKafkaConsumer(**aiokafka_config(self.settings.kafka), group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            parts = await self._partitions(consumer)
            tps = [TopicPartition(self.topic, p) for p in parts]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for msgs in batch.values():
                    for m in msgs:
                        _apply(self.book, m.key, m.value)
                if not self.ready.is_set() and await _caught_up(consumer, tps, end):
                    self.ready.set()
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: Any) -> list[int]:
        while True:  # the topic may be created after the worker started
            parts = consumer.partitions_for_topic(self.topic)
            if parts:
                return sorted(parts)
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
            await asyncio.sleep(1.0)


async def _caught_up(consumer: Any, tps: list[Any], end: dict[Any, int]) -> bool:
    for tp in tps:  # (an ``await`` inside ``all(...)`` makes an async generator: always fails)
        if await consumer.position(tp) < end[tp]:
            return False
    return True


# ---------------------------------------------------------------- command


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``3d``, ``2w``."""
    m = DURATION.match(text.strip())
    if not m:
        raise SilenceError(f"duration {text!r}: expected a number and s/m/h/d/w, e.g. 3d")
    return timedelta(seconds=float(m.group(1)) * UNIT_S[m.group(2)])


def parse_time(text: str, tz: Any) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise SilenceError(f"time {text!r}: expected RFC 3339, e.g. "
                           "2026-11-22T08:00:00+08:00") from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["add", "list", "expire"])
    p.add_argument("silence_id", nargs="?", help="expire: the silence to end")
    p.add_argument("--match", action="append", default=[], metavar="LABEL=VALUE",
                   help="add: a matcher (repeatable; VALUE may be a,b for one of several)")
    p.add_argument("--start", help="add: RFC 3339 start (default now)")
    p.add_argument("--until", help="add: RFC 3339 end")
    p.add_argument("--duration", help="add: length instead of --until, e.g. 3d, 12h")
    p.add_argument("--reason", default="", help="why (a hospital stay, a repair, …)")
    p.add_argument("--author", help="pseudonymous operator id (default: op-<digest of $USER>)")
    p.add_argument("--all", action="store_true", help="list: include expired silences")
    p.add_argument("--json", action="store_true", help="list: JSONL records (a replay "
                   "--silences file)")
    p.add_argument("--file", type=Path, help="use this JSONL file instead of the topic")
    p.add_argument("--config")
    p.add_argument("--bootstrap")


def silence_command(args: argparse.Namespace) -> int:
    from streams.worker import worker_settings

    settings = worker_settings(args.config, args.bootstrap)
    if args.file is None and not settings.kafka.bootstrap_servers:
        print("error: no Kafka bootstrap servers (use --bootstrap) and no --file")
        return 2
    try:
        book = _load(settings, args.file)
        if args.action == "list":
            return _list(book, args, settings)
        changed = _add(args, settings) if args.action == "add" else _expire(book, args, settings)
    except SilenceError as exc:
        print(f"error: {exc}")
        return 2
    _save(settings, args.file, changed)
    print(f"{args.action}: {changed.silence_id} {_describe(changed)}")
    return 0


def _load(settings: Settings, file: Path | None) -> SilenceBook:
    if file is not None:
        return load_silences(file) if file.exists() else SilenceBook()
    from sinks.topics import ensure_alert_topics

    ensure_alert_topics(settings)
    return read_topic(settings)


def _save(settings: Settings, file: Path | None, s: Silence) -> None:
    """Append the new version: the file, like the topic, keeps every version in order."""
    if file is None:
        write_topic(settings, s)
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("ab") as fh:
        fh.write(s.record()[1] + b"\n")


def _add(args: argparse.Namespace, settings: Settings) -> Silence:
    tz = parse_tz(settings.pipeline.timezone)
    now = datetime.now(tz).replace(microsecond=0)
    start = parse_time(args.start, tz) if args.start else now
    if bool(args.until) == bool(args.duration):
        raise SilenceError("add needs exactly one of --until and --duration")
    end = parse_time(args.until, tz) if args.until else start + parse_duration(args.duration)
    return new_silence(parse_matchers(args.match), start, end, args.reason,
                       args.author or pseudonym(), now, settings.alerts.silences)


def _expire(book: SilenceBook, args: argparse.Namespace, settings: Settings) -> Silence:
    if not args.silence_id:
        raise SilenceError("expire needs the silence id (see `gridwatch silence list`)")
    s = book.get(args.silence_id)
    if s is None:
        raise SilenceError(f"no silence {args.silence_id!r}")
    now = datetime.now(parse_tz(settings.pipeline.timezone)).replace(microsecond=0)
    return expire(s, args.author or pseudonym(), now, args.reason)


def _list(book: SilenceBook, args: argparse.Namespace, settings: Settings) -> int:
    now = time.time()
    for s in book:
        state = s.state(now)
        if state == "expired" and not args.all:
            continue
        if args.json:
            print(s.record()[1].decode())
            continue
        print(f"{s.silence_id}  {state:8} {_describe(s)}")
        for c in s.history:
            print(f"    {c.at.isoformat()} {c.action} by {c.author}"
                  + (f": {c.reason}" if c.reason else ""))
    return 0


def _describe(s: Silence) -> str:
    matchers = ",".join(f"{k}={v if isinstance(v, str) else '|'.join(v)}"
                        for k, v in s.matchers.items())
    return (f"{matchers}  {s.starts_at.isoformat()} → {s.ends_at.isoformat()}  "
            f"by {s.author}: {s.reason}")
