"""The per-partition engine: detectors, watermark, event-id dedup and episodes.

This is the one code path shared by the live Faust worker (an engine per
work partition) and ``gridwatch replay`` (one engine that owns every key). It
imports nothing from Faust or Kafka: the worker feeds it batches and
watermarks, replay feeds it a file.

Event time: the watermark is the largest event time seen minus the allowed
lateness, so an event up to that late is still observed before a silence it
would have broken falls due. It moves in steps of at least one second so the
cost of ``advance`` is paid per second of event time, not per event, and so
the result does not depend on how events were cut into batches.

A watermark step asks only the detectors that may have something due: one
that says when its next deadline is (``next_due``, see
:meth:`detectors.base.DetectorBase.next_due`) is skipped until the watermark
reaches it, so a step costs the detectors with work, not all of them; in
replay most steps find nothing due. A detector without ``next_due`` is asked
at every step.
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterable
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson

from config.models import Settings
from detectors.base import Decision, Detector, DetectorBase
from detectors.catalog import build_detectors
from gridwatch.events import STREAMS, Event, parse_tz
from gridwatch.registry import Registry
from sinks.dispatch import Dispatcher
from sinks.episodes import EpisodeBook
from sinks.render import AlertRenderer
from sinks.silence import SilenceBook
from streams.routing import interest_of

WATERMARK_STEP_S = 1.0
NEG_INF = float("-inf")
log = logging.getLogger(__name__)


def _owns_all(key: str) -> bool:
    return True


def _next_due_of(det: Detector) -> Callable[[], float] | None:
    """``det.next_due``, or ``None`` for a detector due at every step (it has none, or
    only the default): those are not asked, just advanced."""
    next_due = getattr(det, "next_due", None)
    if next_due is None or getattr(next_due, "__func__", None) is DetectorBase.next_due:
        return None
    return next_due  # type: ignore[no-any-return]


# Which events of a batch a detector is handed: its streams and its iot metrics, each
# None for all (nothing to check).
Interest = tuple[frozenset[str] | None, frozenset[str] | None]
# A detector as the engine calls it: its interest, bound shard_key (None: not asked),
# observe, next_due (None: due at every step) and advance, and itself.
Lane = tuple[Interest, Callable[[Event], str | None] | None,
             Callable[[Event], list[Decision]], Callable[[], float] | None,
             Callable[[float], list[Decision]], Detector]
ALL_STREAMS = frozenset(STREAMS)


def _interest(det: Detector) -> Interest:
    streams, metrics = interest_of(det)
    if "iot" not in streams:
        metrics = None
    return (None if streams >= ALL_STREAMS else streams), metrics


def _picks(batch: list[Event], interest: Interest) -> Iterable[int]:
    """Positions of the batch's events a detector with this interest looks at."""
    streams, metrics = interest
    if metrics is None:
        if streams is None:
            return range(len(batch))
        return [j for j, e in enumerate(batch) if e.stream in streams]
    streams = streams or ALL_STREAMS
    return [j for j, e in enumerate(batch)
            if (e.metric in metrics if e.stream == "iot" else e.stream in streams)]  # type: ignore[attr-defined]


class RecentIds:
    """A bounded set of recently seen event ids: Kafka redelivers after restarts."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.ids: OrderedDict[str, None] = OrderedDict()

    def dump(self) -> bytes | OrderedDict[str, None]:
        """The ids for a checkpoint, oldest first, as one JSON array.

        A full set holds ``dedup_capacity`` (200,000) ids per partition and is saved
        with every checkpoint, on the worker's loop: as one array, a partition's
        snapshot takes 1.4-1.9x less time than with the ids pickled as a dict
        (``bench/bench_checkpoint.py``). An id JSON cannot carry (a lone surrogate
        from a non-JSON adapter) keeps the dict."""
        try:
            return orjson.dumps(list(self.ids))
        except orjson.JSONEncodeError:
            return self.ids

    def load(self, saved: bytes | OrderedDict[str, None]) -> None:
        """Inverse of :meth:`dump`; a checkpoint from before it holds the dict itself."""
        self.ids = OrderedDict.fromkeys(orjson.loads(saved)) if isinstance(saved, bytes) \
            else saved

    def add(self, event_id: str) -> bool:
        """True if new; False if seen recently (a redelivery to drop)."""
        if self.capacity == 0:
            return True
        if event_id in self.ids:
            return False
        self.ids[event_id] = None
        if len(self.ids) > self.capacity:
            self.ids.popitem(last=False)
        return True


class Engine:
    """Runs every detector on the events of the keys it owns and renders alerts."""

    def __init__(self, settings: Settings, registry: Registry,
                 owns: Callable[[str], bool] = _owns_all,
                 detectors: list[Detector] | None = None,
                 silences: SilenceBook | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.owns = owns
        self.detectors = detectors if detectors is not None else build_detectors(
            settings.detectors, registry)
        self._wire()
        self.lateness = settings.pipeline.allowed_lateness_s
        self.max_t = float("-inf")
        self.watermark = float("-inf")
        self.seen = RecentIds(settings.pipeline.dedup_capacity)
        self.book = EpisodeBook()
        self.stats: dict[str, int] = {"events": 0, "duplicates": 0, "late": 0, "alerts": 0}
        tz = parse_tz(settings.pipeline.timezone)
        self.renderer = AlertRenderer(
            registry, tz, settings.pipeline.language,
            {d.name: d.config_hash() for d in self.detectors},
            {d.name: d.version for d in self.detectors})
        # Silences are shared by the engines of one process (read from gw.silences or a
        # file) and not checkpointed; everything else the dispatcher keeps is.
        self.dispatch = Dispatcher(settings.alerts, registry, self.book, tz, silences)

    def use_detectors(self, detectors: list[Detector]) -> None:
        """Run these detector objects from now on (the metrics' timing proxies, and back)."""
        self.detectors = detectors
        self._wire()

    def _wire(self) -> None:
        """Each detector's interest (streams, metrics), bound ``shard_key``, ``observe``,
        ``next_due`` and ``advance``: made once per detector set, not per event.

        An engine owning every key asks ``shard_key`` only to drop the events a
        detector ignores; a detector whose ``observe`` drops those itself
        (``observe_filters``) gets ``None`` there and is not asked twice.
        """
        everything = self.owns is _owns_all
        self._lanes: list[Lane] = [
            (_interest(d), None if everything and getattr(d, "observe_filters", False)
             else d.shard_key, d.observe, _next_due_of(d), d.advance, d)
            for d in self.detectors]

    # ------------------------------------------------------------ input
    def process(self, events: Iterable[Event],
                marks: list[tuple[int, int, int, int, int]] | None = None
                ) -> list[dict[str, Any]]:
        """Observe a batch of events in order; returns the alert updates they caused.

        ``marks``, if given, receives after each share of the updates (an event's
        decisions of one detector, a step's advance of one detector, a step's
        repeats) its event's position among the batch's new events, 0 for observe or
        1 for a step, the detector's rank (that of no detector for the repeats), and
        the counts of updates and muted updates (:meth:`take_muted`) so far: how
        replay jobs running different detectors interleave their output.

        Each detector takes the whole batch in turn, then the episode book and the
        dispatcher take their decisions in the order of one event at a time —
        each event by every detector, then the watermark step it caused. The
        detectors share no state with each other or with the book, so the updates
        are exactly those of that order; running one detector's code over many
        events keeps it in the CPU's caches (the engine over a parsed 1,000-person
        week: 7.9-8.7 s of CPU against 10.8-11.7 s taking every detector per event).
        """
        batch, steps = self._admit(events)
        if not batch:
            return []
        return self._apply(self._decide(batch, steps), steps, marks)

    def _admit(self, events: Iterable[Event]) -> tuple[list[Event], list[tuple[int, float]]]:
        """The batch's new events (repeated ids dropped), and after which of them event
        time steps on, to what watermark."""
        fresh, stats, lateness = self.seen.add, self.stats, self.lateness
        batch: list[Event] = []
        steps: list[tuple[int, float]] = []
        watermark, max_t = self.watermark, self.max_t
        for event in events:
            if not fresh(event.event_id):
                stats["duplicates"] += 1
                continue
            t = event.t
            if t < watermark:
                stats["late"] += 1
            batch.append(event)
            if t > max_t:
                max_t = t
                if t - lateness - watermark >= WATERMARK_STEP_S:
                    watermark = t - lateness
                    steps.append((len(batch) - 1, watermark))
        stats["events"] += len(batch)
        self.max_t = max_t
        return batch, steps

    def _decide(self, batch: list[Event],
                steps: list[tuple[int, float]]) -> list[tuple[int, int, int, list[Decision]]]:
        """Every detector over the batch, advanced at the steps: what each said, tagged
        (event position, 0 for observe / 1 for advance, detector rank)."""
        said: list[tuple[int, int, int, list[Decision]]] = []
        picks: dict[Interest, Iterable[int]] = {}
        for rank, lane in enumerate(self._lanes):
            interest = lane[0]
            if interest not in picks:
                picks[interest] = _picks(batch, interest)
            self._run_lane(rank, lane, batch, picks[interest], steps, said)
        return said

    def _run_lane(self, rank: int, lane: Lane, batch: list[Event], picks: Iterable[int],
                  steps: list[tuple[int, float]],
                  said: list[tuple[int, int, int, list[Decision]]]) -> None:
        """One detector over the events at ``picks`` (its streams), each step's advance
        after the event it follows. ``next_due`` is asked again only after the detector
        was called: it holds until then, and steps come every second of event time."""
        _, shard_key, observe, next_due, advance, det = lane
        owns, everything = self.owns, self.owns is _owns_all
        end = len(batch)
        cuts = [*steps, (end, NEG_INF)]  # (no step comes after the end)
        k, cut, stale, due = 0, cuts[0][0], True, NEG_INF
        for j in chain(picks, (end,)):
            while cut < j:
                watermark = cuts[k][1]
                k += 1
                cut = cuts[k][0]
                try:
                    if next_due is not None:
                        if stale:
                            due, stale = next_due(), False
                        if watermark < due:
                            continue  # nothing of this detector falls due yet
                    stale = True
                    decisions = advance(watermark)
                except Exception:  # noqa: BLE001 - the other detectors go on
                    self._failed(det, "advance", None)
                    continue
                if decisions:
                    said.append((cuts[k - 1][0], 1, rank, decisions))
            if j == end:
                return
            event = batch[j]
            if shard_key is not None:
                key = shard_key(event)
                if key is None or not (everything or owns(key)):
                    continue
            stale = True
            try:
                decisions = observe(event)
            except Exception:  # noqa: BLE001 - one odd event must not stop a city
                self._failed(det, "observe", event.event_id)
                continue
            if decisions:
                said.append((j, 0, rank, decisions))

    def _apply(self, said: list[tuple[int, int, int, list[Decision]]],
               steps: list[tuple[int, float]],
               marks: list[tuple[int, int, int, int, int]] | None) -> list[dict[str, Any]]:
        """The decisions through the episode book and dispatcher in event order, each
        watermark step's repeats and releases after its detectors' decisions."""
        last = len(self._lanes)
        said.extend((j, 1, last, []) for j, _ in steps)
        said.sort(key=itemgetter(0, 1, 2))  # event, observe before step, detector
        out: list[dict[str, Any]] = []
        watermarks = iter(steps)
        for j, phase, rank, decisions in said:
            if rank < last:
                self._emit(decisions, out)
            else:
                _, self.watermark = next(watermarks)
                sent = len(out)
                self.dispatch.advance(self.watermark, out)  # repeats, releases
                self.stats["alerts"] += len(out) - sent
            if marks is not None:
                marks.append((j, phase, rank, len(out), len(self.dispatch.muted)))
        return out

    def advance(self, watermark: float,
                marks: list[tuple[int, int, int, int, int]] | None = None
                ) -> list[dict[str, Any]]:
        """Move event time forward (from events, a router's hint or the idle clock): a
        step with no event, taken as the steps of :meth:`process` are.

        ``marks`` as for :meth:`process`, each at position -1 (before any event)."""
        if watermark <= self.watermark:
            return []
        steps = [(-1, watermark)]
        return self._apply(self._decide([], steps), steps, marks)

    def finish(self, marks: list[tuple[int, int, int, int, int]] | None = None
               ) -> list[dict[str, Any]]:
        """End of a recorded feed: everything due before the last event time falls due."""
        return self.advance(self.max_t, marks)

    def _failed(self, det: Detector, call: str, event_id: str | None) -> None:
        """A detector bug met by live data: logged with its traceback and counted, and
        the worker keeps going (the event still reaches every other detector)."""
        self.stats["detector_errors"] = self.stats.get("detector_errors", 0) + 1
        log.exception("detector %s failed in %s%s", det.name, call,
                      f" on event {event_id}" if event_id else "",
                      extra={"detector": det.name})

    def _emit(self, decisions: list[Decision], out: list[dict[str, Any]]) -> None:
        """Decisions → episode updates → sent to ``out``, or muted (see :meth:`take_muted`)."""
        sent = len(out)
        for decision in decisions:
            update = self.book.apply(decision)
            if update is not None:
                self.dispatch.offer(self.renderer.render(update), decision.t, out)
        self.stats["alerts"] += len(out) - sent

    def take_muted(self) -> list[dict[str, Any]]:
        """Updates muted by a silence or inhibition since the last call, each with a
        ``muted`` field saying why: for ``gw.alerts.muted`` (live) or a file (replay).
        They are never put on ``gw.alerts``."""
        return self.dispatch.take_muted()

    # ------------------------------------------------------------ hot reload
    def reconfigure(self, settings: Settings) -> None:
        """Swap in new thresholds and alert rules, keeping everything learned.

        Detectors and the dispatcher are rebuilt from ``settings`` and given the
        old ones' state, so routines, windows and open episodes carry on under
        the new config and alerts from now on carry its ``config_hash``.
        Pipeline settings (lateness, time zone, language) need a restart.
        """
        fresh = build_detectors(settings.detectors, self.registry)
        old = {d.name: d for d in self.detectors}
        for det in fresh:
            if det.name in old:
                det.restore(old[det.name].snapshot())
        dispatch = Dispatcher(settings.alerts, self.registry, self.book,
                              self.dispatch.tz, self.dispatch.silencer.book)
        dispatch.restore(self.dispatch.snapshot())
        dispatch.muted, dispatch.stats = self.dispatch.muted, self.dispatch.stats
        self.detectors, self.dispatch, self.settings = fresh, dispatch, settings
        self._wire()
        self.renderer.hashes = {d.name: d.config_hash() for d in fresh}
        self.renderer.versions = {d.name: d.version for d in fresh}

    # ------------------------------------------------------------ checkpoint
    def snapshot(self) -> bytes:
        """Everything needed to resume this partition after a restart."""
        state = {"max_t": self.max_t, "watermark": self.watermark, "seen": self.seen.dump(),
                 "book": self.book.open, "dispatch": self.dispatch.snapshot(),
                 "detectors": {d.name: d.snapshot() for d in self.detectors}}
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, blob: bytes) -> None:
        state = pickle.loads(blob)
        self.max_t, self.watermark = state["max_t"], state["watermark"]
        self.seen.load(state["seen"])
        self.book.open = state["book"]
        if "dispatch" in state:
            self.dispatch.restore(state["dispatch"])
        for det in self.detectors:
            if det.name in state["detectors"]:
                det.restore(state["detectors"][det.name])
