"""Episodes: one ``alert_id`` per (kind, subject, start), ``seq`` per update.

The id is a digest of what the episode *is*, not of when we processed it, so
reprocessing the same input (replay, a restart, Kafka redelivery) gives the
same ids; consumers deduplicate on (``alert_id``, ``seq``). Repeats of an
open episode at the same severity are suppressed: one silence, one episode.
What happens to an update next (mutes, routes, repeats) is :mod:`sinks.dispatch`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from detectors.base import SEVERITY_RANK, Decision


def alert_id(kind: str, subject_type: str, subject_id: str, start: float) -> str:
    """Stable id: the same detector verdict about the same episode always hashes alike."""
    text = f"{kind}|{subject_type}|{subject_id}|{round(start * 1000)}"
    return "gw-" + hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(slots=True)
class Episode:
    alert_id: str
    seq: int
    severity: str
    start: float
    last_sent: float


@dataclass(frozen=True, slots=True)
class Update:
    """A decision that must go out, with the episode's id and sequence number."""

    decision: Decision
    alert_id: str
    seq: int
    severity: str


class EpisodeBook:
    """Open episodes per (kind, subject); turns decisions into updates or nothing.

    >>> from detectors.base import Decision
    >>> book = EpisodeBook()
    >>> fire = Decision("stay_in", "person", "p-1", "firing", "orange", 0.0, 60.0)
    >>> u = book.apply(fire); (u.seq, u.severity)
    (1, 'orange')
    >>> book.apply(fire) is None  # a repeat at the same severity is suppressed
    True
    >>> book.apply(Decision("stay_in", "person", "p-1", "resolved", "", 0.0, 90.0)).seq
    2
    """

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, str], Episode] = {}

    def apply(self, d: Decision) -> Update | None:
        key = (d.kind, d.subject_type, d.subject_id)
        ep = self.open.get(key)
        if d.status == "resolved":
            if ep is None:
                return None
            del self.open[key]
            return Update(d, ep.alert_id, ep.seq + 1, ep.severity)
        if ep is None:
            ep = Episode(alert_id(d.kind, d.subject_type, d.subject_id, d.start), 1,
                         d.severity, d.start, d.t)
            self.open[key] = ep
            return Update(d, ep.alert_id, 1, d.severity)
        if SEVERITY_RANK.get(d.severity, -1) > SEVERITY_RANK.get(ep.severity, -1):
            ep.seq += 1
            ep.severity = d.severity
            ep.last_sent = d.t
            return Update(d, ep.alert_id, ep.seq, d.severity)
        return None

    def bump(self, key: tuple[str, str, str], t: float) -> int | None:
        """Next ``seq`` of an open episode re-sent without a new decision (a repeat,
        or its state released from a mute); ``None`` if the episode is closed."""
        ep = self.open.get(key)
        if ep is None:
            return None
        ep.seq += 1
        ep.last_sent = t
        return ep.seq
