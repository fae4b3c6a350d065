"""What an open episode needs between updates: its delivery state and its timers.

Two things happen to an episode without a new detector decision, both in
event time so live and replay agree:

* ``repeat``: a still-firing urgent episode is re-sent after
  ``alerts.repeat_interval_s[severity]`` without an update (nothing is
  forgotten on a busy night);
* ``recheck``: an update held back by a silence is looked at again when the
  silence ends, and sent if nothing else mutes it.

Timers sit in one heap with lazy invalidation (a stale entry is recognised by
its time no longer matching the episode's), so ``advance`` costs what falls
due, not the number of open episodes.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any, Literal

REPEAT, RECHECK = "repeat", "recheck"
TimerKind = Literal["repeat", "recheck"]


@dataclass(slots=True)
class EpisodeState:
    """The dispatcher's view of one open episode (the id and seq are the book's).

    ``last`` is the last delivered alert, kept only while it may be repeated;
    ``pending`` the latest update held back by a mute (the dispatch system
    has not seen it), with the silences and inhibiting sources that hold it.
    """

    key: tuple[str, str, str]
    delivered: bool = False
    last: dict[str, Any] | None = None
    next_repeat: float = math.inf
    pending: dict[str, Any] | None = None
    pending_t: float = 0.0
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    recheck_at: float = math.inf


class Timers:
    """A heap of (due, kind, alert_id); :meth:`due` pops what fell due in time order.

    >>> timers = Timers()
    >>> timers.push(30.0, "repeat", "a"); timers.push(10.0, "recheck", "b")
    >>> list(timers.due(20.0)), len(timers)
    ([(10.0, 'recheck', 'b')], 1)
    """

    def __init__(self) -> None:
        self.heap: list[tuple[float, str, str]] = []

    def push(self, due: float, kind: TimerKind, alert_id: str) -> None:
        if math.isfinite(due):
            heapq.heappush(self.heap, (due, kind, alert_id))

    def due(self, until: float) -> Any:
        """Entries with ``due <= until``; entries pushed meanwhile are seen too.

        Asked on every watermark step, mostly with nothing due: then no generator."""
        if not self.heap or self.heap[0][0] > until:
            return ()
        return self._due(until)

    def _due(self, until: float) -> Any:
        while self.heap and self.heap[0][0] <= until:
            yield heapq.heappop(self.heap)

    def __len__(self) -> int:
        return len(self.heap)
