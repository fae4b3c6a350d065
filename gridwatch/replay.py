"""``gridwatch replay``: the live detectors and config, run over recorded feeds.

Replay builds the same :class:`streams.engine.Engine` the worker runs, owning
every key, and feeds it the recorded lines in event-time order (several feed
files are merged by ``ts``; lines within a file may be out of order by up to
the allowed lateness, which the engine's watermark absorbs). Bad lines are
counted and written to ``ALERTS.deadletter.jsonl``; replay never aborts on data.
"""

from __future__ import annotations

import heapq
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from config.models import Settings
from detectors.catalog import build_detectors
from gridwatch.events import Event
from gridwatch.feedlines import event_of, parse_raw
from gridwatch.progress import Progress
from gridwatch.registry import Registry
from sinks.silence import SilenceBook
from streams.engine import Engine

BATCH = 2048
PROGRESS_BYTES = 1 << 20  # the progress line is told every MB, not every line
# Below this much feed a child process's start (~0.3 s) costs more than it saves.
CHILD_MIN_BYTES = 16 << 20
MAX_AUTO_JOBS = 4  # replay jobs without --jobs (see _split)


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


ReadFeed = Callable[[Path, IO[bytes], ReplayResult, Progress | None], Iterator[Event]]


def deadletter_path(out: Path) -> Path:
    """``ALERTS.jsonl`` → ``ALERTS.deadletter.jsonl`` beside it, as the contract says."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".deadletter.jsonl")


def muted_path(out: Path) -> Path:
    """``ALERTS.jsonl`` → ``ALERTS.muted.jsonl``: updates muted by silences or inhibition."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".muted.jsonl")


def read_feed(path: Path, dead: IO[bytes], result: ReplayResult,
              progress: Progress | None = None) -> Iterator[Event]:
    """Yield the good events of one file; bad lines go to the dead-letter file."""
    received = datetime.now(UTC)
    done = 0
    with path.open("rb") as fh:
        for raw in fh:
            done += len(raw)
            if done >= PROGRESS_BYTES and progress is not None:
                progress.update(done)
                done = 0
            item = parse_raw(raw, received)
            if type(item) is bytes:
                result.bad_lines += 1
                dead.write(item)
            elif item is not None:
                yield item  # type: ignore[misc]
    if progress is not None:
        progress.update(done)


def python_m(module: str, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """A child process running ``module`` of this very source tree, as a plain
    ``python -P -m`` (``-P``: not a ``gridwatch`` in the current directory, another
    checkout say): no fork of a process that may hold threads, and no re-import of
    the caller's main module."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    return subprocess.Popen([sys.executable, "-P", "-m", module, *args], env=env, **popen)


def read_feed_in_child(path: Path, dead: IO[bytes], result: ReplayResult,
                       progress: Progress | None = None) -> Iterator[Event]:
    """:func:`read_feed`, the parsing done by a second process (:mod:`gridwatch.feedlines`).

    The same lines give the same events and dead letters in the same order; this
    process only rebuilds the events from rows, a fraction of the parsing.
    """
    child = python_m("gridwatch.feedlines", str(path), datetime.now(UTC).isoformat(),
                     stdout=subprocess.PIPE)
    assert child.stdout is not None
    try:
        yield from read_rows(child.stdout, path, dead, result, progress)
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.terminate()  # the replay stopped early (an error, or a consumer's break)
        child.wait()


def read_rows(pipe: IO[bytes], path: Path | str, dead: IO[bytes], result: ReplayResult,
              progress: Progress | None) -> Iterator[Event]:
    """The events of the row records on ``pipe`` (:func:`gridwatch.feedlines.parse_to`);
    the dead-letter lines among them go to ``dead``."""
    while True:
        try:
            record = pickle.load(pipe)
        except EOFError:
            raise RuntimeError(f"{path}: the parsing process stopped unexpectedly") from None
        if record[0] == "end":
            return
        if record[0] == "error":
            raise OSError(record[1])
        _, rows, size = record
        for row in rows:
            item = event_of(row)
            if type(item) is bytes:
                result.bad_lines += 1
                dead.write(item)
            else:
                yield item  # type: ignore[misc]
        if progress is not None:
            progress.update(size)


def _reader(feeds: list[Path], in_child: bool | None) -> ReadFeed:
    """Parse beside the detectors when it pays: a big feed and a core to spare.

    The child only helps on a core of its own (on a busy machine it slows the
    replay it feeds), so by default it runs when the load leaves a core idle.
    Either way the output is the same.
    """
    if in_child is None:
        in_child = sum(p.stat().st_size for p in feeds) >= CHILD_MIN_BYTES and \
            _idle_cores() >= 1.0
    return read_feed_in_child if in_child else read_feed


def _idle_cores() -> float:
    """Cores not taken by runnable processes, this one included (1-minute load)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available here: assume the machine is busy
        return 0.0
    return (os.cpu_count() or 1) - max(load, 1.0)


def replay(feeds: list[Path], registry: Registry, settings: Settings, out: Path,
           show_progress: bool | None = None,
           silences: SilenceBook | None = None,
           parallel_parse: bool | None = None,
           jobs: int | None = None) -> ReplayResult:
    """Run the detectors over ``feeds`` and write every alert update to ``out``.

    ``show_progress`` draws a progress line on stderr (default: when it is a terminal).
    ``silences`` (a ``--silences`` file) mute as the live ``gw.silences`` topic does;
    muted updates go to ``ALERTS.muted.jsonl`` with the reason. ``jobs`` runs the
    detector families in that many processes (:mod:`gridwatch.replay_jobs`; default:
    one per idle core for big feeds): the same updates, those of different families
    raised by one event possibly in another order. With one job, ``parallel_parse``
    parses each feed in a second process (default: for big feeds on a multi-core
    machine); the output is the same either way.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    split = _split(feeds, registry, settings, jobs)
    if len(split) > 1:
        from gridwatch.replay_jobs import run_jobs

        return run_jobs(feeds, registry, settings, out, split, silences,
                        sys.stderr.isatty() if show_progress is None else show_progress)
    result = ReplayResult()
    engine = Engine(settings, registry, silences=silences)
    progress = Progress(sum(p.stat().st_size for p in feeds), "replay",
                        enabled=show_progress)
    with out.open("wb") as sink, deadletter_path(out).open("wb") as dead, \
            muted_path(out).open("wb") as muted:
        events = feed_events(feeds, _reader(feeds, parallel_parse), dead, result, progress)
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


def _split(feeds: list[Path], registry: Registry, settings: Settings,
           jobs: int | None) -> list[list[str]]:
    """The enabled detector families of each replay job; one job (or none enabled): ``[]``.

    By default a feed big enough to pay for the processes' start gets one job per
    core the load leaves idle, plus this one's, at most :data:`MAX_AUTO_JOBS`: each
    job holds a copy of the registry (a city of two million people: gigabytes).
    """
    from gridwatch.replay_jobs import split

    if jobs is None:
        big = sum(p.stat().st_size for p in feeds) >= CHILD_MIN_BYTES
        jobs = min(1 + int(_idle_cores()), MAX_AUTO_JOBS) if big else 1
    if jobs <= 1:
        return []
    enabled = [d for d in build_detectors(settings.detectors, registry)
               if getattr(d.config, "enabled", True)]
    names = split(enabled, settings.alerts.inhibit, jobs)
    return names if len(names) > 1 else []


def feed_events(feeds: list[Path], read: ReadFeed, dead: IO[bytes], result: ReplayResult,
                progress: Progress | None) -> Iterator[Event]:
    """The good events of ``feeds``, several files merged by event time."""
    streams = [read(p, dead, result, progress) for p in feeds]
    return streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_event_time)


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
