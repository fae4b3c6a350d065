"""Shared fixtures of the alert-side tests: a tiny city and the dispatch pipeline without Kafka.

The city: grid g-1 (street s-1) with building b-1 holding houses h-1 and
h-2; p-1 lives alone in h-1; devices d-1 (h-1) and d-2 (h-2); grid g-2
(street s-2) with house h-9 in building b-9.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from config.alerts import AlertSettings
from detectors.base import Decision
from gridwatch.registry import Registry
from sinks.dispatch import Dispatcher
from sinks.episodes import EpisodeBook, Update, alert_id
from sinks.inhibit import Candidate
from sinks.labels import alert_labels
from sinks.render import AlertRenderer
from sinks.silence import Silence, SilenceBook, new_silence

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=TZ).timestamp()
H = 3600.0


def city() -> Registry:
    reg = Registry()
    for g, s, w in (("g-1", "s-1", "w-1"), ("g-2", "s-2", "w-2")):
        reg.put("grids", {"grid_id": g, "community_id": "c-1", "street_id": s,
                          "district_id": "d-1", "city_id": "daqing", "worker_id": w,
                          "police_id": "pol-1"})
    for h, g, b in (("h-1", "g-1", "b-1"), ("h-2", "g-1", "b-1"), ("h-9", "g-2", "b-9")):
        reg.put("houses", {"house_id": h, "grid_id": g, "building_id": b})
    reg.put("persons", {"person_id": "p-1", "house_id": "h-1", "tags": "elderly_alone"})
    reg.put("persons", {"person_id": "p-9", "house_id": "h-9", "tags": "elderly_alone"})
    for d, h in (("d-1", "h-1"), ("d-2", "h-2"), ("d-9", "h-9")):
        reg.put("devices", {"device_id": d, "house_id": h})
    return reg


def decision(kind: str, stype: str, sid: str, severity: str = "orange", start: float = 0.0,
             t: float = 0.0, status: str = "firing") -> Decision:
    """A detector verdict at hours ``start``/``t`` after T0."""
    return Decision(kind, stype, sid, status, severity, T0 + start * H,  # type: ignore[arg-type]
                    T0 + t * H, {}, None, "test")


class Pipe:
    """Episode book → renderer → dispatcher, as the engine wires them, for timelines."""

    def __init__(self, config: AlertSettings | None = None,
                 silences: SilenceBook | None = None, registry: Registry | None = None) -> None:
        self.registry = registry or city()
        self.book = EpisodeBook()
        self.renderer = AlertRenderer(self.registry, TZ, "en", {}, {})
        self.dispatch = Dispatcher(config or AlertSettings(), self.registry, self.book, TZ,
                                   silences)

    def decide(self, *decisions: Decision) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for d in decisions:
            update = self.book.apply(d)
            if update is not None:
                self.dispatch.offer(self.renderer.render(update), d.t, out)
        return out

    def advance(self, hours: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self.dispatch.advance(T0 + hours * H, out)
        return out

    def muted(self) -> list[dict[str, Any]]:
        return self.dispatch.take_muted()


def brief(alerts: list[dict[str, Any]]) -> list[tuple[str, int, str, str]]:
    """(subject id, seq, update, severity) of each alert: what a timeline asserts."""
    return [(a["subject"]["id"], a["seq"], a["update"], a["severity"]) for a in alerts]


def silence(matchers: dict[str, Any], start_h: float, end_h: float,
            reason: str = "test") -> Silence:
    start = datetime.fromtimestamp(T0 + start_h * H, TZ)
    end = datetime.fromtimestamp(T0 + end_h * H, TZ)
    return new_silence(matchers, start, end, reason, "op-test", start,
                       AlertSettings().silences)


def candidate(pipe: Pipe, d: Decision) -> Candidate:
    """The labelled candidate a decision would become (for muter tables)."""
    aid = alert_id(d.kind, d.subject_type, d.subject_id, d.start)
    alert = pipe.renderer.render(Update(d, aid, 1, d.severity))
    return Candidate(alert, alert_labels(alert, pipe.registry), d.t)
