"""Work messages: what the router sends a work partition, compact and self-timed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import orjson

from gridwatch.events import Access, Event, Iot, Report

MAX_WORK_BYTES = 512 * 1024  # well under Kafka's default 1 MB message limit


# ---------------------------------------------------------------- work messages
# {"r": "<router id>", "w": <router's wall clock when sent>,
#  "src": {"<stream>/<input partition>": <newest event time> | null},
#  "idle": {"<stream>/<input partition>": <earliest time its next event can carry>},
#  "events": [[code, field, …], …]}
# A row is the event's dataclass fields in declaration order after a one-letter
# stream code: compact, and no timestamps to parse again. ``src`` lists the
# router's active sources; null = assigned but nothing read yet. ``idle`` (optional)
# lists the router's other sources: held at that time should the router fall silent.

_CODE = {"access": "a", "iot": "i", "report": "r"}
_CLASS: dict[str, type[Access] | type[Iot] | type[Report]] = {
    "a": Access, "i": Iot, "r": Report}
_FIELDS = {cls.stream: attrgetter(*cls.__slots__) for cls in (Access, Iot, Report)}

Sources = Mapping[str, float | None]


@dataclass(frozen=True)
class WorkMessage:
    """A decoded ``gw.work`` message."""

    router: str
    sources: dict[str, float | None]
    events: list[Event]
    sent_at: float = 0.0
    idle: dict[str, float] = field(default_factory=dict)


def encode_work(router: str, sources: Sources, events: Sequence[Event],
                sent_at: float = 0.0, idle: Mapping[str, float] | None = None) -> bytes:
    """One work message: who sent it and when, its sources' event times, the events."""
    rows = [(_CODE[e.stream], *_FIELDS[e.stream](e)) for e in events]
    msg = {"r": router, "w": sent_at, "src": sources, "events": rows}
    if idle:
        msg["idle"] = idle
    return orjson.dumps(msg)


def encode_work_chunks(router: str, sources: Sources, events: Sequence[Event],
                       sent_at: float = 0.0, max_bytes: int = MAX_WORK_BYTES,
                       earlier: Sources | None = None,
                       idle: Mapping[str, float] | None = None) -> list[bytes]:
    """Like :func:`encode_work`, split in halves until every message fits ``max_bytes``.

    Only the last piece may claim ``sources``: the others carry ``earlier`` (the
    source times before this batch), since a claim read before the rest of the
    batch arrives would release events ahead of the ones still on their way.
    """
    pieces = _pieces(events, max_bytes, lambda part: encode_work(router, sources, part,
                                                                  sent_at, idle))
    if len(pieces) == 1:
        return [encode_work(router, sources, pieces[0], sent_at, idle)]
    early = earlier if earlier is not None else {name: None for name in sources}
    return [encode_work(router, early, part, sent_at, idle) for part in pieces[:-1]] + [
        encode_work(router, sources, pieces[-1], sent_at, idle)]


def _pieces(events: Sequence[Event], max_bytes: int,
            encode: Callable[[Sequence[Event]], bytes]) -> list[Sequence[Event]]:
    if len(events) <= 1 or len(encode(events)) <= max_bytes:
        return [events]
    half = len(events) // 2
    return _pieces(events[:half], max_bytes, encode) + _pieces(events[half:], max_bytes, encode)


def decode_work(raw: bytes) -> WorkMessage:
    """Back from bytes to a :class:`WorkMessage`; raises ``ValueError`` if corrupt."""
    try:
        data = orjson.loads(raw)
        events: list[Event] = [_CLASS[row[0]](*row[1:]) for row in data.get("events") or ()]
        sources = {str(k): (None if v is None else float(v))
                   for k, v in (data.get("src") or {}).items()}
        idle = {str(k): float(v) for k, v in (data.get("idle") or {}).items()}
        return WorkMessage(str(data.get("r", "")), sources, events, float(data.get("w") or 0),
                           idle)
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, IndexError,
            ValueError) as exc:
        raise ValueError(f"corrupt work message: {type(exc).__name__}") from None
