"""Replay on several cores: the detector families split among processes.

A replay spends its time in the detectors, a few microseconds per event in
each family, and one Python process runs on one core. The families keep
separate state and only meet in the dispatcher when an inhibit rule links
their kinds, so each job — a plain ``python -P -m gridwatch.replay_jobs`` of
this source tree (:func:`gridwatch.replay.python_m`) — runs the same
:class:`streams.engine.Engine` over a share of the families (families linked
by an inhibit rule share a job). The
replay's own process reads and parses the feeds once, writes the dead
letters and sends every job every event as rows (``gridwatch.feedlines``):
so each job drops the same repeated ids and moves the same watermark as one
engine, and each family's updates are exactly the ones it gives there.

Each job tags its updates with what produced them — the position of the
event (the end of the feed for the last watermark), its observe or the
watermark step it made, and the detector's rank in the catalog
(:meth:`streams.engine.Engine.process` ``marks``) — and the parent merges the
jobs' files by those tags: the order of one process. Only where families of
two jobs both repeat an open alert at one watermark step do the repeats come
job by job rather than by due time.

Which family goes where: the families' CPU per event on a simulated city
(:data:`COST`; measured by running the engine over a parsed feed with one
family at a time), packed longest first onto the least loaded job.
"""

from __future__ import annotations

import heapq
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from config.alerts import InhibitRule
from config.models import Settings
from detectors.base import Detector, kinds_of
from detectors.catalog import build_detectors
from gridwatch.events import Event
from gridwatch.feedlines import CHUNK_LINES, Row, row_of
from gridwatch.progress import Progress
from gridwatch.registry import Registry
from gridwatch.replay import (
    BATCH,
    ReplayResult,
    deadletter_path,
    feed_events,
    muted_path,
    python_m,
    read_feed,
    read_rows,
)
from sinks.silence import SilenceBook
from streams.engine import Engine

# Seconds of CPU over a parsed 1,000-person week (284,071 events), each family alone in
# the engine less the engine's own 0.4 s: only their ratios matter. Measured again on
# 2026-12-07 (presence had become cheaper, unusual_hours dearer): with the figures
# before, two jobs split 5.2 s against 2.9 s of work.
COST = {"sensor_anomaly": 2.75, "device_offline": 1.9, "presence": 1.55, "crowd": 0.6,
        "group_rental": 0.6, "unusual_hours": 0.45, "event_cluster": 0.2,
        "sensor_threshold": 0.1}
UNKNOWN_COST = 1.0
END = 1 << 62  # the position of what the end of the feed releases (the last watermark)


@dataclass
class JobSpec:
    """What a job needs, sent pickled on its stdin before the events' rows."""

    settings: Settings
    registry: Registry
    silences: SilenceBook | None
    names: list[str]  # its detector families
    alerts: Path  # its tagged updates: ``position phase rank<TAB>json`` lines
    muted: Path


@dataclass
class JobResult:
    events: int = 0  # new events (repeated ids dropped)
    last_t: float = float("-inf")
    by_kind: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- the split


def split(detectors: Iterable[Detector], rules: list[InhibitRule], jobs: int) -> list[list[str]]:
    """The detector names of each job (at most ``jobs``, none empty), in catalog order.

    Families linked by an inhibit rule — a source kind of one, a target kind of
    the other, or a rule naming no kinds at all — must share a dispatcher, so
    they go together; the groups are then packed longest first by :data:`COST`.

    >>> from config.alerts import AlertSettings
    >>> from detectors.catalog import build_detectors
    >>> from config.models import Settings
    >>> from gridwatch.registry import Registry
    >>> dets = build_detectors(Settings().detectors, Registry())
    >>> split(dets, AlertSettings().inhibit, 2)  # doctest: +NORMALIZE_WHITESPACE
    [['sensor_threshold', 'sensor_anomaly', 'crowd', 'group_rental'],
     ['device_offline', 'unusual_hours', 'event_cluster', 'presence']]
    """
    dets = list(detectors)
    order = {d.name: i for i, d in enumerate(dets)}
    groups = _linked([(d.name, kinds_of(d)) for d in dets], rules)
    bins: list[tuple[float, int, list[str]]] = [(0.0, i, []) for i in range(max(jobs, 1))]
    for group in sorted(groups, key=lambda g: (-_cost(g), order[g[0]])):
        load, i, names = heapq.heappop(bins)
        heapq.heappush(bins, (load + _cost(group), i, names + group))
    jobs_names = [sorted(names, key=order.__getitem__) for _, _, names in bins if names]
    return sorted(jobs_names, key=lambda names: order[names[0]])


def _cost(names: list[str]) -> float:
    return sum(COST.get(n, UNKNOWN_COST) for n in names)


def _linked(families: list[tuple[str, frozenset[str]]],
            rules: list[InhibitRule]) -> list[list[str]]:
    """Families joined by the inhibit rules (union-find over their names)."""
    parent = {name: name for name, _ in families}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    for rule in rules:
        kinds = set(rule.source.kinds) | set(rule.target.kinds)
        touched = [name for name, own in families
                   if not rule.source.kinds or not rule.target.kinds or own & kinds]
        for name in touched[1:]:
            parent[root(name)] = root(touched[0])
    groups: dict[str, list[str]] = {}
    for name, _ in families:
        groups.setdefault(root(name), []).append(name)
    return list(groups.values())


# ---------------------------------------------------------------- the parent


def run_jobs(feeds: list[Path], registry: Registry, settings: Settings, out: Path,
             names: list[list[str]], silences: SilenceBook | None,
             progress: bool) -> ReplayResult:
    """Run one job per entry of ``names`` over ``feeds`` (read and parsed here, once, and
    sent to every job as rows) and merge their output into ``out`` and its muted file;
    dead letters are written here."""
    result = ReplayResult()
    meter = Progress(sum(p.stat().st_size for p in feeds), "replay", enabled=progress)
    with tempfile.TemporaryDirectory(prefix=".replay-", dir=out.parent) as tmp:
        specs = [JobSpec(settings, registry, silences, job, Path(tmp, f"{i}.alerts"),
                         Path(tmp, f"{i}.muted")) for i, job in enumerate(names)]
        children = [_start(spec) for spec in specs]
        with deadletter_path(out).open("wb") as dead:
            _feed(feed_events(feeds, read_feed, dead, result, meter), children, result)
        results = _wait(children)
        with out.open("wb") as sink:
            result.alerts = _merge([s.alerts for s in specs], sink)
        with muted_path(out).open("wb") as sink:
            result.muted = _merge([s.muted for s in specs], sink)
    meter.close()
    result.events, result.last_t = results[0].events, results[0].last_t
    for done in results:
        for kind, n in done.by_kind.items():
            result.by_kind[kind] = result.by_kind.get(kind, 0) + n
    return result


def _start(spec: JobSpec) -> subprocess.Popen[bytes]:
    child = python_m("gridwatch.replay_jobs", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    _send(child, pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
    return child


def _feed(events: Iterator[Event], children: list[subprocess.Popen[bytes]],
          result: ReplayResult) -> None:
    """The events as row records (``gridwatch.feedlines``), each pickled once for all
    the jobs; a job's pipe full holds the reading back, so no job runs far behind."""
    rows: list[Row] = []
    for event in events:
        if event.t < result.first_t:
            result.first_t = event.t
        rows.append(row_of(event))
        if len(rows) >= CHUNK_LINES:
            _send_all(children, pickle.dumps(("chunk", rows, 0), pickle.HIGHEST_PROTOCOL))
            rows = []
    _send_all(children, pickle.dumps(("chunk", rows, 0), pickle.HIGHEST_PROTOCOL))
    _send_all(children, pickle.dumps(("end",)))
    for child in children:
        if child.stdin is not None and not child.stdin.closed:
            child.stdin.close()


def _send_all(children: list[subprocess.Popen[bytes]], blob: bytes) -> None:
    for child in children:
        _send(child, blob)


def _send(child: subprocess.Popen[bytes], blob: bytes) -> None:
    """``blob`` to the job's stdin; a job that died stops listening (_wait says why)."""
    if child.stdin is None or child.stdin.closed:
        return
    try:
        child.stdin.write(blob)
    except BrokenPipeError:
        child.stdin = None


def _wait(children: list[subprocess.Popen[bytes]]) -> list[JobResult]:
    results: list[JobResult] = []
    failed = []
    for i, child in enumerate(children):
        assert child.stdout is not None
        data = child.stdout.read()
        if child.wait() != 0 or not data:
            failed.append(f"job {i} (exit code {child.returncode})")
            continue
        results.append(pickle.loads(data))
    if failed:
        raise RuntimeError("replay: " + ", ".join(failed) + " failed; see its error above")
    return results


def _merge(paths: list[Path], sink: IO[bytes]) -> int:
    """The jobs' tagged lines in position order, then job order; returns how many."""
    files = [p.open("rb") for p in paths]
    try:
        n = 0
        for *_, line in heapq.merge(*(_tagged(f, i) for i, f in enumerate(files))):
            sink.write(line)
            n += 1
        return n
    finally:
        for f in files:
            f.close()


def _tagged(lines: IO[bytes], job: int) -> Iterator[tuple[int, int, int, int, int, bytes]]:
    for n, line in enumerate(lines):
        head, _, body = line.partition(b"\t")
        pos, phase, rank = head.split()
        yield int(pos), int(phase), int(rank), job, n, body


# ---------------------------------------------------------------- a job


def job(spec: JobSpec, rows: IO[bytes]) -> JobResult:
    """Run the engine over every event with this job's families, tagging what it says."""
    catalog = build_detectors(spec.settings.detectors, spec.registry)
    dets = [d for d in catalog if d.name in spec.names]
    ranks = [*(i for i, d in enumerate(catalog) if d.name in spec.names), len(catalog)]
    engine = Engine(spec.settings, spec.registry, detectors=dets, silences=spec.silences)
    tagger = _Tagger(ranks)
    with spec.alerts.open("wb") as sink, spec.muted.open("wb") as muted, \
            open(os.devnull, "wb") as dead:
        batch: list[Event] = []
        for event in read_rows(rows, "the replay's rows", dead, ReplayResult(), None):
            batch.append(event)
            if len(batch) >= BATCH:
                tagger.process(engine, batch, sink, muted)
                batch.clear()
        tagger.process(engine, batch, sink, muted)
        tagger.finish(engine, sink, muted)
    return JobResult(engine.stats["events"], engine.max_t, tagger.by_kind)


class _Tagger:
    """Writes a job's updates tagged ``position phase rank`` for the merge."""

    def __init__(self, ranks: list[int]) -> None:
        self.ranks = ranks  # the engine's detector rank → the catalog's (last: repeats)
        self.by_kind: dict[str, int] = {}

    def process(self, engine: Engine, batch: list[Event], sink: IO[bytes],
                muted: IO[bytes]) -> None:
        base = engine.stats["events"]
        marks: list[tuple[int, int, int, int, int]] = []
        self._write(base, engine.process(batch, marks), engine.take_muted(), marks, sink, muted)

    def finish(self, engine: Engine, sink: IO[bytes], muted: IO[bytes]) -> None:
        """What the end of the feed releases, after every event."""
        marks: list[tuple[int, int, int, int, int]] = []
        self._write(END, engine.finish(marks), engine.take_muted(), marks, sink, muted)

    def _write(self, base: int, sent: list[dict[str, Any]], held: list[dict[str, Any]],
               marks: list[tuple[int, int, int, int, int]], sink: IO[bytes],
               muted: IO[bytes]) -> None:
        a = m = 0
        for j, phase, rank, a_end, m_end in marks:
            tag = b"%d %d %d" % (base + j, phase, self.ranks[rank])
            self._lines(tag, sent[a:a_end], sink, count=True)
            self._lines(tag, held[m:m_end], muted, count=False)
            a, m = a_end, m_end

    def _lines(self, tag: bytes, alerts: list[dict[str, Any]], sink: IO[bytes],
               count: bool) -> None:
        for alert in alerts:
            sink.write(tag + b"\t" + orjson.dumps(alert) + b"\n")
            if count:
                self.by_kind[alert["kind"]] = self.by_kind.get(alert["kind"], 0) + 1


def main() -> int:
    """``python -m gridwatch.replay_jobs``: a :class:`JobSpec` on stdin, a result out."""
    from gridwatch import replay_jobs  # by name: what it pickles must unpickle in the parent

    spec: JobSpec = pickle.load(sys.stdin.buffer)
    result = replay_jobs.job(spec, sys.stdin.buffer)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
