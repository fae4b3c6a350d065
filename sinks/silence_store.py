"""Where silences live: the compacted ``gw.silences`` topic, or a JSONL file for replay.

* :func:`read_topic` / :func:`write_topic`: the ``gridwatch silence`` command
  reads the whole topic (kafka-python, no consumer group), changes one
  silence and writes its new version back.
* :func:`apply_silence_value`: what each worker's follower of the topic
  (the same reader as the registry's) applies to the process's shared
  :class:`sinks.silence.SilenceBook`, which all its engines consult.
* :func:`silence_command`: ``gridwatch silence add|list|expire``.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.models import Settings
from gridwatch.contract import dead_letter
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


def apply_silence_value(book: SilenceBook, key: bytes | None, value: bytes | None,
                        received_at: datetime) -> dict[str, Any] | None:
    """Apply one ``gw.silences`` record for a worker's follower
    (:class:`streams.follow.TopicFollower`); a record that is not a valid silence
    comes back as a dead letter, kept with the reason."""
    try:
        book.apply(key, value)
    except (ValidationError, ValueError) as exc:
        text = (value or b"").decode("utf-8", "replace")
        return dead_letter("silences", text, f"silence: {exc}", received_at)
    return None


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
