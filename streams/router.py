"""The router: validates input batches and repartitions events by shard key.

Why it exists and how event time travels with the work is in streams/worker.py's
docstring and docs/partitioning.md."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from config.models import Settings
from detectors.base import Detector
from detectors.catalog import build_detectors
from gridwatch.contract import INPUT_MODELS, dead_letter, describe, loads, parse_message
from gridwatch.events import Event, parse_tz
from gridwatch.registry import Registry
from streams.routing import split_by_partition
from streams.workmsg import encode_work, encode_work_chunks

HEARTBEAT_EVERY_S = 1.0  # a work partition hears from every router at least this often
CLAIMS_EVERY_S = 0.1  # how often the router checks whether its source times moved on
# A source that changes hands (rebalance, a worker stopped) keeps holding event time
# at its last routed time until its new owner reports it, for at most this long.
HANDOVER_S = 30.0
NEG_INF = float("-inf")
INF = float("inf")
MAX_POLLS = 1024  # batches remembered for the frontier of a source turning active again
FRESH_MIN_S = 0.5  # a fetch response at most this old (or FRESH_FETCHES fetch waits) ...
FRESH_FETCHES = 5  # ... still tells whether an input partition was read to its end


# ---------------------------------------------------------------- input decoding


def decode_input(stream: str, raw: bytes | None,
                 received_at: datetime) -> tuple[list[Event], list[dict[str, Any]]]:
    """Validate one input message; never raises, whatever the bytes.

    A null value is a dead letter of its own. Should the fast parser trip on
    an odd shape (it raised ``TypeError`` on unhashable values), every element
    is validated again by the pydantic model alone, which explains the reject.
    """
    if raw is None:
        return [], [dead_letter(stream, "", "message: empty value (null)", received_at)]
    try:
        return parse_message(stream, raw, received_at)
    except Exception:  # noqa: BLE001 - the contract says: keep going, dead-letter it
        return _validate_each(stream, raw, received_at)


def _validate_each(stream: str, raw: bytes,
                   received_at: datetime) -> tuple[list[Event], list[dict[str, Any]]]:
    data = loads(raw)  # parse_message already got past this
    items = data if isinstance(data, list) else [data]
    events: list[Event] = []
    dead: list[dict[str, Any]] = []
    for item in items:
        item_raw = orjson.dumps(item).decode() if isinstance(data, list) else \
            raw.decode("utf-8", "replace")
        if not isinstance(item, dict):
            error = f"message: expected a JSON object, got {type(item).__name__}"
            dead.append(dead_letter(stream, item_raw, error, received_at))
            continue
        try:
            events.append(INPUT_MODELS[stream].model_validate(item).to_event())
        except ValidationError as exc:
            dead.append(dead_letter(stream, item_raw, describe(exc), received_at))
    return events, dead


# ---------------------------------------------------------------- router


@dataclass
class Routed:
    """What one input batch becomes: work messages by partition, and dead letters."""

    work: list[tuple[int, bytes]]
    dead: list[dict[str, Any]]


@dataclass
class Source:
    """One input partition as the router sees it: newest event time, last offset and
    when (wall clock) a message last came from it."""

    max_t: float = NEG_INF
    last_seen: float = 0.0
    offset: int = -1
    baseline: int | None = None  # highwater first seen while nothing was read yet
    clear_at: float | None = None  # poll time of the last fetch it was found idle by


@dataclass(frozen=True)
class Fetched:
    """What the consumer's latest fetch response told of one input partition.

    ``position`` is the next offset the consumer will hand over, ``highwater``
    the next offset the broker will assign, ``polled_at`` the wall clock of
    that response, ``start`` the offset it began reading at when assigned (the
    committed one). Equal offsets on a fresh response mean the partition was
    read to its end: nothing of it is on its way.
    """

    position: int
    highwater: int
    polled_at: float
    start: int = 0


HighwaterFn = Callable[[str, int], "int | None"]
FetchedFn = Callable[[str, int], "Fetched | None"]


class Router:
    """Validates input batches, repartitions the events by shard key, tracks sources.

    A source is active — it holds event time back — while it has unread
    messages (its highwater is past the last offset routed: a backlog, e.g.
    after downtime, or a sparse or newly started source whose data is about to
    be read) or sent something within ``idle_advance_s`` wall seconds (or was
    just assigned). A source the consumer has read to its end (``fetched``: a
    fresh fetch response with position = highwater, everything routed) stops
    holding time back already ``caught_up_idle_s`` after its last message, as
    Flink's idle sources do: a sparse input partition (few reports) must not
    hold every other one back for ``idle_advance_s``. :meth:`heartbeats`
    carries the source times to partitions that got nothing lately, so a quiet
    partition's event time moves.
    """

    def __init__(self, settings: Settings, registry: Registry,
                 detectors: list[Detector] | None = None, router_id: str | None = None,
                 highwater: HighwaterFn | None = None,
                 fetched: FetchedFn | None = None) -> None:
        self.id = router_id or uuid.uuid4().hex[:12]
        self.partitions = settings.kafka.partitions
        self.lateness = settings.pipeline.allowed_lateness_s
        self.idle_s = settings.pipeline.idle_advance_s
        self.caught_up_s = min(settings.pipeline.caught_up_idle_s, self.idle_s)
        # A fetch response older than this no longer tells what the broker holds (a
        # paused partition, a stalled consumer): the wall-clock rule applies again.
        self.fresh_s = max(FRESH_MIN_S, FRESH_FETCHES * settings.kafka.fetch_max_wait_ms / 1000)
        self.fetched = fetched
        self.tz = parse_tz(settings.pipeline.timezone)
        self.registry = registry
        self.detectors = detectors if detectors is not None else build_detectors(
            settings.detectors, registry)
        self.highwater = highwater
        self.sources: dict[str, Source] = {}
        self.handed: dict[str, tuple[float, float]] = {}  # revoked: (newest time, when)
        self.last_sent: dict[int, float] = {}
        self.claimed: dict[int, dict[str, float | None]] = {}  # source times sent last
        self.routed_max = NEG_INF  # newest event time routed (of fetches known)
        self.polls: list[tuple[float, float]] = []  # (poll time, routed_max) per batch
        self.stats = {"messages": 0, "events": 0, "dead": 0, "work": 0}

    def reconfigure(self, settings: Settings) -> None:
        """Shard keys may depend on what is enabled: ask the reloaded detectors."""
        self.detectors = build_detectors(settings.detectors, self.registry)

    def assign(self, sources: Iterable[str], now: float) -> None:
        """Input partitions just assigned: active (holding time back) until idle."""
        for name in sources:
            self.handed.pop(name, None)
            self.sources.setdefault(name, Source()).last_seen = now

    def revoke(self, sources: Iterable[str], now: float | None = None) -> None:
        """Input partitions taken away. With ``now``, each one that was active keeps
        being reported at its newest routed time for ``HANDOVER_S``: in a rebalance
        every router gives up its sources before any gets them back, and a work
        partition hearing of no active source at all would take it for "no data on
        its way" and release everything it buffered, ahead of the events the new
        owner has yet to route (they would then arrive late)."""
        active = self.active(now) if now is not None else {}
        for name in sources:
            self.sources.pop(name, None)
            t = active.get(name)
            if now is not None and t is not None:
                self.handed[name] = (t, now)

    def active(self, now: float) -> dict[str, float | None]:
        """Active sources and their newest event time (None: nothing read yet), and
        sources handed over lately at the time they were handed over at.

        A source found idle by its position (read to its end) that turns active
        again — a new message is on its way — is reported no earlier than the
        newest event time routed from fetches up to the one it was idle by: its
        new messages came to the broker after those (:meth:`_frontier`).
        """
        out: dict[str, float | None] = {}
        for name, source in self.sources.items():
            view = self._view(name, now)
            if not self._holds(name, source, view, now):
                if view is not None:  # idle by its position, as of this fetch
                    source.clear_at = view.polled_at
                continue
            t = self._next_at_least(source)
            out[name] = t if t > NEG_INF else None
        for name, (t, since) in list(self.handed.items()):
            if now - since > HANDOVER_S:
                del self.handed[name]
            elif name not in out:
                out[name] = t
        return out

    def idle(self, active: dict[str, float | None]) -> dict[str, float]:
        """This router's sources not in ``active``, each at the earliest event time its
        next message can carry (its newest routed, or the frontier of the fetch it was
        found idle by). A worker that stops or dies gives up no source: its router just
        falls silent, and the work partitions then hold these, with its active ones, until
        the new owner reports them. Without it, the events that reached an idle source
        while it had no owner arrived behind a watermark the other sources moved on."""
        out: dict[str, float] = {}
        for name, source in self.sources.items():
            if name not in active and (t := self._next_at_least(source)) > NEG_INF:
                out[name] = t
        return out

    def _next_at_least(self, source: Source) -> float:
        """The earliest event time a source's next message can carry: its newest routed,
        or, once found idle, the frontier of the fetch it was idle by."""
        if source.clear_at is None:
            return source.max_t
        return max(source.max_t, self._frontier(source.clear_at))

    def _holds(self, name: str, source: Source, view: Fetched | None, now: float) -> bool:
        """Whether a source holds event time back now (see the class docstring)."""
        quiet = now - source.last_seen
        if quiet <= self.caught_up_s:
            return True
        if view is not None:  # False: fetched but not routed yet, or more to fetch
            return not read_to_end(source, view)
        return quiet <= self.idle_s or self._backlog(name, source)

    def _view(self, name: str, now: float) -> Fetched | None:
        """The consumer's latest fetch response for a source, if it is fresh."""
        seen = _ask(self.fetched, name)
        if seen is None or now - seen.polled_at > self.fresh_s:
            return None
        return seen

    def _fetched_by(self, names: Iterable[str], events: Sequence[Event], now: float) -> None:
        """Note that these events came with fetch responses no later than the newest
        one their sources were polled by (nothing noted if one is not known)."""
        polls = [self._view(name, now) for name in names]
        if not events or any(view is None for view in polls):
            return
        newest = max(view.polled_at for view in polls if view is not None)
        self.routed_max = max(self.routed_max, max(e.t for e in events))
        if self.polls:  # kept in order: a later poll time is the safe side
            newest = max(newest, self.polls[-1][0])
        self.polls.append((newest, self.routed_max))
        if len(self.polls) > 2 * MAX_POLLS:
            del self.polls[:MAX_POLLS]

    def _frontier(self, polled_at: float) -> float:
        """The newest event time routed from fetch responses up to ``polled_at``."""
        i = bisect.bisect_right(self.polls, (polled_at, INF))
        return self.polls[i - 1][1] if i else NEG_INF

    def _backlog(self, name: str, source: Source) -> bool:
        """Messages are waiting: the highwater is past the last offset routed, or, for a
        source not read yet, has grown since first seen (data began to arrive)."""
        high = _ask(self.highwater, name)
        if high is None:
            return False
        if source.offset < 0:
            if source.baseline is None:
                source.baseline = high
            return high > source.baseline
        return source.offset + 1 < high

    def route(self, stream: str, messages: Iterable[tuple[int, int, bytes | None]],
              now: float) -> Routed:
        """Validate a batch of (input partition, offset, value) of one stream and split it."""
        received_at = datetime.now(self.tz)
        earlier = self.active(now)
        events: list[Event] = []
        dead: list[dict[str, Any]] = []
        for partition, offset, raw in messages:
            self.stats["messages"] += 1
            good, bad = decode_input(stream, raw, received_at)
            source = self.sources.setdefault(f"{stream}/{partition}", Source())
            source.last_seen = now
            source.offset = max(source.offset, offset)
            for event in good:
                if event.t > source.max_t:
                    source.max_t = event.t
            events.extend(good)
            dead.extend(bad)
        self._fetched_by({f"{stream}/{p}" for p, _, _ in messages}, events, now)
        self.stats["events"] += len(events)
        self.stats["dead"] += len(dead)
        active = self.active(now)
        earlier = {name: earlier.get(name) for name in active}
        idle = self.idle(active)
        work = [(p, chunk)
                for p, part in sorted(split_by_partition(events, self.detectors,
                                                         self.partitions).items())
                for chunk in encode_work_chunks(self.id, active, part, now, earlier=earlier,
                                                idle=idle)]
        for p, _ in work:
            self.last_sent[p] = now
            self.claimed[p] = active
        self.stats["work"] += len(work)
        return Routed(work, dead)

    def heartbeats(self, now: float) -> list[tuple[int, bytes]]:
        """Source times for the partitions that received nothing for a second, and for
        those that got nothing lately whose last message held back event time that the
        sources have passed since (a source went idle or moved on): without it an event
        waits for the router's next batch to its partition, or a heartbeat period."""
        active = self.active(now)
        due = [p for p in range(self.partitions)
               if (quiet := now - self.last_sent.get(p, NEG_INF)) >= HEARTBEAT_EVERY_S
               or (quiet >= CLAIMS_EVERY_S and moved_on(self.claimed.get(p), active))]
        beat = encode_work(self.id, active, (), now, self.idle(active))
        for p in due:
            self.last_sent[p] = now
            self.claimed[p] = active
        self.stats["work"] += len(due)
        return [(p, beat) for p in due]


def _ask(consumer_fn: Callable[[str, int], Any] | None, name: str) -> Any:
    """What the consumer knows of source ``stream/partition`` (None: no way to ask, or
    not known yet: the caller then judges by the wall clock alone)."""
    if consumer_fn is None:
        return None
    stream, _, partition = name.rpartition("/")
    try:
        return consumer_fn(stream, int(partition))
    except Exception:  # noqa: BLE001 - unknown yet
        return None


def read_to_end(source: Source, view: Fetched) -> bool:
    """Everything the broker held at that fetch was routed (or, for a source not read
    yet, nothing was handed over since the assignment and nothing is there)."""
    if source.offset >= 0:
        return source.offset + 1 >= view.highwater
    return view.position == view.start and view.position >= view.highwater


def moved_on(before: dict[str, float | None] | None, now: dict[str, float | None]) -> bool:
    """Whether source times ``now`` let a work partition release more than ``before``:
    a source stopped holding time back, or reached a later time."""
    if before is None:
        return False
    for name, t in before.items():
        if name not in now:
            return True
        later = now[name]
        if later is not None and (t is None or later > t):
            return True
    return False
