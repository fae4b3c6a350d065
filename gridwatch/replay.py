"""``gridwatch replay``: the live detectors and config, run over recorded feeds.

Replay builds the same :class:`streams.engine.Engine` the worker runs, owning
every key, and feeds it the recorded lines in event-time order (several feed
files are merged by ``ts``; lines within a file may be out of order by up to
the allowed lateness, which the engine's watermark absorbs). Bad lines are
counted and written to ``ALERTS.deadletter.jsonl``; replay never aborts on data.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from config.models import Settings
from gridwatch.contract import dead_letter, parse_item
from gridwatch.events import Event
from gridwatch.progress import Progress
from gridwatch.registry import Registry
from sinks.silence import SilenceBook
from streams.engine import Engine

BATCH = 2048
STREAM_ALIASES = {"access": "access", "iot": "iot", "report": "report", "reports": "report"}


@dataclass
class ReplayResult:
    events: int = 0
    bad_lines: int = 0
    alerts: int = 0
    muted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    first_t: float = float("inf")
    last_t: float = float("-inf")

    @property
    def days(self) -> float:
        """Event-time span of the feed, for rates such as alerts per day."""
        return max(self.last_t - self.first_t, 0.0) / 86400 if self.events else 0.0


def deadletter_path(out: Path) -> Path:
    """``ALERTS.jsonl`` → ``ALERTS.deadletter.jsonl`` beside it, as the contract says."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".deadletter.jsonl")


def muted_path(out: Path) -> Path:
    """``ALERTS.jsonl`` → ``ALERTS.muted.jsonl``: updates muted by silences or inhibition."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".muted.jsonl")


def parse_line(line: bytes) -> Event:
    """One feed line: an input object plus ``"stream"``; ``ValueError`` says what is wrong."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"line: invalid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError("line: expected a JSON object")
    stream = STREAM_ALIASES.get(str(obj.pop("stream", "")))
    if stream is None:
        raise ValueError("stream: must be 'access', 'iot' or 'report'")
    return parse_item(stream, obj)


def read_feed(path: Path, dead: IO[bytes], result: ReplayResult,
              progress: Progress | None = None) -> Iterator[Event]:
    """Yield the good events of one file; bad lines go to the dead-letter file."""
    received = datetime.now(UTC)
    with path.open("rb") as fh:
        for raw in fh:
            if progress is not None:
                progress.update(len(raw))
            line = raw.strip()
            if not line:
                continue
            try:
                yield parse_line(line)
            except ValueError as exc:
                result.bad_lines += 1
                stream = _stream_of(line)
                text = line.decode("utf-8", "replace")
                dead.write(orjson.dumps(dead_letter(stream, text, str(exc), received)) + b"\n")


def _stream_of(line: bytes) -> str:
    try:
        obj: Any = orjson.loads(line)
        return str(obj.get("stream", "unknown")) if isinstance(obj, dict) else "unknown"
    except orjson.JSONDecodeError:
        return "unknown"


def replay(feeds: list[Path], registry: Registry, settings: Settings, out: Path,
           show_progress: bool | None = None,
           silences: SilenceBook | None = None) -> ReplayResult:
    """Run the detectors over ``feeds`` and write every alert update to ``out``.

    ``show_progress`` draws a progress line on stderr (default: when it is a terminal).
    ``silences`` (a ``--silences`` file) mute as the live ``gw.silences`` topic does;
    muted updates go to ``ALERTS.muted.jsonl`` with the reason.
    """
    result = ReplayResult()
    engine = Engine(settings, registry, silences=silences)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = Progress(sum(p.stat().st_size for p in feeds), "replay",
                        enabled=show_progress)
    with out.open("wb") as sink, deadletter_path(out).open("wb") as dead, \
            muted_path(out).open("wb") as muted:
        streams = [read_feed(p, dead, result, progress) for p in feeds]
        events = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_event_time)
        batch: list[Event] = []
        for event in events:
            if event.t < result.first_t:
                result.first_t = event.t
            batch.append(event)
            if len(batch) >= BATCH:
                _write(engine.process(batch), sink, result)
                result.muted += _write_muted(engine, muted)
                batch.clear()
        _write(engine.process(batch), sink, result)
        _write(engine.finish(), sink, result)
        result.muted += _write_muted(engine, muted)
    progress.close()
    result.events = engine.stats["events"]
    result.last_t = engine.max_t
    return result


def _write_muted(engine: Engine, sink: IO[bytes]) -> int:
    muted = engine.take_muted()
    for alert in muted:
        sink.write(orjson.dumps(alert) + b"\n")
    return len(muted)


def _event_time(event: Event) -> float:
    return event.t


def _write(alerts: list[dict[str, Any]], sink: IO[bytes], result: ReplayResult) -> None:
    for alert in alerts:
        sink.write(orjson.dumps(alert) + b"\n")
        result.alerts += 1
        result.by_kind[alert["kind"]] = result.by_kind.get(alert["kind"], 0) + 1
