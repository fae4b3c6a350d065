"""Event-time ordering for detectors whose verdicts depend on the order of events.

A sliding-window count or an incremental clustering gives a different verdict
if an event that happened earlier is seen later. Rather than patching state
for late arrivals, such detectors hand events to an :class:`EventTimeBuffer`
and process them once the watermark has passed them, strictly in event-time
order, interleaved with their own deadlines. Under the pipeline's lateness
bound every event with ``t <= watermark`` has arrived by then, so the
verdicts are those of the time-sorted stream: the same live (a partition's
own watermark, an idle clock) and in replay (one global watermark), whatever
the arrival order or how often ``advance`` is called. The price is latency:
a verdict leaves ``allowed_lateness_s`` after the event that caused it, with
``t`` stamped at that event.

An event older than what has already been released (later than the allowed
lateness) is returned at once for processing in arrival order: it is never
dropped, and it cannot undo a verdict already given.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

E = TypeVar("E")


class EventTimeBuffer(Generic[E]):
    """A heap of pending events keyed by (t, arrival number); picklable.

    >>> buf: EventTimeBuffer[str] = EventTimeBuffer()
    >>> buf.push(20.0, "b"), buf.push(10.0, "a")
    (True, True)
    >>> [e for _, e in buf.release(15.0)], buf.released
    (['a'], 15.0)
    >>> buf.push(12.0, "late")  # older than what was released: process it now
    False
    """

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, E]] = []
        self.seq = 0
        self.released = float("-inf")

    def __len__(self) -> int:
        return len(self.heap)

    def push(self, t: float, item: E) -> bool:
        """Hold ``item`` until the watermark passes ``t``; False if that already happened."""
        if t <= self.released:
            return False
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, item))
        return True

    def release(self, watermark: float) -> Iterable[tuple[float, E]]:
        """Pending items with ``t <= watermark``, oldest first (arrival order breaks ties).

        Asked on every watermark step (about once per event) and usually with
        nothing due, so that case returns at once instead of making a generator.
        """
        heap = self.heap
        if not heap or heap[0][0] > watermark:
            if watermark > self.released:
                self.released = watermark
            return ()
        return self._release(watermark)

    def _release(self, watermark: float) -> Iterator[tuple[float, E]]:
        heap = self.heap
        while heap and heap[0][0] <= watermark:
            t, _, item = heapq.heappop(heap)
            yield t, item
        if watermark > self.released:
            self.released = watermark


class Deadlines:
    """A deadline heap with lazy invalidation: one live entry per key.

    ``due`` maps key → the deadline of its live entry; an entry popped whose
    time no longer matches is stale and skipped, so rescheduling is a push
    and ``pop_due`` costs what falls due, not the population.

    >>> d = Deadlines()
    >>> d.set("a", 30.0); d.set("b", 10.0); d.set("a", 40.0)
    >>> [(k, t) for k, t in d.pop_due(35.0)]
    [('b', 10.0)]
    >>> d.cancel("a"); list(d.pop_due(100.0))
    []
    """

    def __init__(self) -> None:
        self.heap: list[tuple[float, str]] = []
        self.due: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.due)

    def set(self, key: str, t: float) -> None:
        if self.due.get(key) == t:
            return
        self.due[key] = t
        heapq.heappush(self.heap, (t, key))

    def cancel(self, key: str) -> None:
        self.due.pop(key, None)

    def next_time(self) -> float:
        """The earliest live deadline (``inf`` when none)."""
        heap, due = self.heap, self.due
        while heap and due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else float("inf")

    def pop_due(self, t: float, strict: bool = False) -> Iterable[tuple[str, float]]:
        """Live entries with deadline ``<= t`` (``< t`` if strict), earliest first.

        Each entry is removed as it is given; the caller may set new deadlines
        meanwhile, and those falling due are given too. Nothing due (the usual
        answer) returns at once, without making a generator.
        """
        heap = self.heap
        if not heap or (heap[0][0] >= t if strict else heap[0][0] > t):
            return ()
        return self._pop_due(t, strict)

    def _pop_due(self, t: float, strict: bool) -> Iterator[tuple[str, float]]:
        heap, due = self.heap, self.due
        while heap and (heap[0][0] < t if strict else heap[0][0] <= t):
            when, key = heapq.heappop(heap)
            if due.get(key) == when:
                del due[key]
                yield key, when
