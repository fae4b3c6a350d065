"""The detector interface every family implements.

A detector is pure and deterministic: it sees events (``observe``) and the
passage of event time (``advance(watermark)``), never Kafka, asyncio or the
wall clock. It answers with :class:`Decision` objects; the sinks turn those
into contract alerts (ids, seq, routing, summary). Because time only comes in
as an argument, the same detector gives the same decisions live and in replay.

Episodes are the detector's to define: it says when a condition began
(``start``) and when it ended (a ``resolved`` decision). Sinks derive the
stable ``alert_id`` from (kind, subject, start) and suppress repeats.

Three optional members let the engine do less work, never different work:
``next_due()`` (nothing of ``advance`` can happen at a watermark before it, so
the engine skips the call), ``observe_filters`` (``observe`` itself ignores,
untouched, every event ``shard_key`` maps to ``None``, so an engine owning
every key need not ask ``shard_key`` first) and ``metrics`` (the meter
readings it looks at, by metric: the engine and the router hand it no other,
without a call). A detector without them is asked at every watermark step,
about every event of its streams, and always through ``shard_key``.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from gridwatch.events import STREAMS, Event
from gridwatch.registry import Registry

SubjectType = Literal["person", "house", "device", "gate", "grid", "building"]
SEVERITY_RANK = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}


@dataclass(frozen=True, slots=True)
class Decision:
    """A detector's verdict about one episode of one subject, at event time ``t``.

    ``status`` is ``firing`` (open or update the episode; ``severity`` may
    rise) or ``resolved`` (close it). ``grid_id`` routes the alert; when
    ``None`` the sink looks it up from the subject in the registry.
    """

    kind: str
    subject_type: SubjectType
    subject_id: str
    status: Literal["firing", "resolved"]
    severity: str
    start: float
    t: float
    evidence: dict[str, Any] = field(default_factory=dict)
    grid_id: str | None = None
    detector: str = ""


def restore_slots(obj: Any, state: tuple[None, dict[str, Any]] | dict[str, Any]) -> None:
    """Unpickle a slotted dataclass, giving fields a checkpoint predates their defaults.

    Used as ``__setstate__``: a checkpoint written before a field was added then
    restores (after an upgrade, or a hot reload) instead of leaving the slot unset.
    """
    slots = (state[1] if isinstance(state, tuple) else state) or {}
    for f in fields(obj):
        if f.name in slots:
            setattr(obj, f.name, slots[f.name])
        elif f.default is not MISSING:
            setattr(obj, f.name, f.default)
        elif f.default_factory is not MISSING:
            setattr(obj, f.name, f.default_factory())


def kinds_of(detector: Detector) -> frozenset[str]:
    """The alert kinds a detector raises: its ``kinds``, or its name alone."""
    return getattr(detector, "kinds", None) or frozenset({detector.name})


@runtime_checkable
class Detector(Protocol):
    """What the engine calls. ``name``/``version`` go into every alert."""

    name: ClassVar[str]
    version: ClassVar[str]

    def observe(self, event: Event) -> list[Decision]:
        """Take one event (in arrival order, possibly late within the allowed lateness)."""
        ...

    def advance(self, watermark: float) -> list[Decision]:
        """Event time has reached ``watermark``: emit what fell due (silence, expiry)."""
        ...

    def shard_key(self, event: Event) -> str | None:
        """The partition key owning the state this event touches, or ``None`` to skip it.

        Usually the grid of the subject (a person's home grid, a gate's or
        device's grid); for ids missing from the registry any stable string
        (the id itself) keeps one subject on one partition. The router sends an
        event to every partition some detector names; the engine calls
        ``observe`` only where this key is owned, so no state is kept twice.
        """
        ...

    def config_hash(self) -> str:
        ...

    def snapshot(self) -> bytes:
        ...

    def restore(self, blob: bytes) -> None:
        ...


class DetectorBase:
    """Shared plumbing: config hash, and snapshot/restore of the learned state.

    State is whatever sits in instance attributes other than ``config`` and
    ``registry``; subclasses keep it in plain, picklable containers so a
    partition's detectors can be checkpointed and restored after a restart.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    # The alert kinds it raises, where they are not just its name (presence raises
    # four): what an inhibit rule's kinds are matched against to keep linked
    # families in one replay job (``gridwatch.replay_jobs``).
    kinds: ClassVar[frozenset[str]] = frozenset()
    # The input streams this detector looks at: the engine asks no other (see
    # ``streams.routing.interest_of``). Narrow it in a subclass; a wrong narrowing
    # loses events, so the default is all.
    streams: ClassVar[frozenset[str]] = frozenset(STREAMS)
    _not_state: ClassVar[tuple[str, ...]] = ("config", "registry", "metrics")
    # True where ``observe`` returns [] and changes nothing for every event whose
    # ``shard_key`` is None: an engine owning every key then skips ``shard_key``.
    observe_filters: ClassVar[bool] = False
    # The ``iot`` metrics it looks at, ``None`` for all: ``observe`` ignores, untouched,
    # and ``shard_key`` maps to ``None``, every reading of another metric. Most readings
    # concern few detectors (gas, heartbeat and motion readings are half a city's feed), and
    # skipping one in the engine costs a set lookup instead of a call that finds nothing.
    # Set per instance: it depends on the config (which rules, which specs).
    metrics: frozenset[str] | None = None

    config: Any
    registry: Registry

    def config_hash(self) -> str:
        return str(self.config.config_hash())

    def next_due(self) -> float:
        """The earliest watermark at which ``advance`` could decide or change anything.

        ``advance(w)`` for any ``w`` below it must be a no-op returning ``[]``, so the
        engine skips those calls. It is asked afresh at each watermark step, so it
        need only hold until the next ``observe`` (which may bring it forward). The
        default, ``-inf``, means "ask me at every step": right for any detector, and
        the only safe answer for one that notes every watermark (an event-time buffer
        decides by it whether an arrival is late).
        """
        return -math.inf

    def snapshot(self) -> bytes:
        state = {k: v for k, v in vars(self).items() if k not in self._not_state}
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, blob: bytes) -> None:
        vars(self).update(pickle.loads(blob))

    def decision(self, kind: str, subject_type: SubjectType, subject_id: str,
                 status: Literal["firing", "resolved"], severity: str, start: float,
                 t: float, evidence: dict[str, Any], grid_id: str | None = None) -> Decision:
        """Build a decision stamped with this detector's name."""
        return Decision(kind, subject_type, subject_id, status, severity, start, t, evidence,
                        grid_id, self.name)


class DailyDetector(DetectorBase):
    """A detector that sums events into days and judges each day once, when event time
    has passed its end (``unusual_hours``, ``group_rental``): a day's verdict needs the
    whole day. Subclasses say where a day ends and how it is judged, and keep
    ``next_close`` (the first day not yet judged, ``None`` before any event) and ``late``.
    """

    next_close: int | None
    late: int

    def _day_end(self, day: int) -> float:
        raise NotImplementedError

    def _close(self, day: int) -> list[Decision]:
        raise NotImplementedError

    def next_due(self) -> float:
        """The end of the next day to close: ``advance`` does nothing before it."""
        return math.inf if self.next_close is None else self._day_end(self.next_close)

    def advance(self, watermark: float) -> list[Decision]:
        out: list[Decision] = []
        if self.next_close is None:
            return out
        while self._day_end(self.next_close) <= watermark:
            out += self._close(self.next_close)
            self.next_close += 1
        return out

    def _catch_up(self, day: int) -> tuple[list[Decision], bool]:
        """Before an event of ``day``: the verdicts of days its partition's watermark left
        more than a day behind, and whether ``day`` is still open (an event of a day
        already judged is counted ``late``: it cannot change that verdict)."""
        out: list[Decision] = []
        if self.next_close is None:
            self.next_close = day
        elif day >= self.next_close + 2:  # this partition's watermark lags a whole day
            while self.next_close <= day - 2:
                out += self._close(self.next_close)
                self.next_close += 1
        if day < self.next_close:
            self.late += 1
            return out, False
        return out, True
