"""Routes: the grid hierarchy plus per-kind and per-severity config routes."""

from __future__ import annotations

import pytest
from alertkit import Pipe, candidate, decision
from pydantic import ValidationError

from config.alerts import Match, Route
from detectors.base import Decision
from sinks.route import AlertRouter, routed_to

STREET_ON_RED = Route(name="red-to-street", match=Match(severities=("red",)),
                      notify=("street",))
FIRE_TO_DISTRICT = Route(name="fire", match=Match(kinds=("sensor_threshold",),
                                                  severities=("orange", "red")),
                         notify=("district", "street"))
CASES = [
    ("orange goes to the grid worker and police only", (STREET_ON_RED,),
     decision("stay_in", "person", "p-1", "orange"),
     [("grid_worker", "w-1", ""), ("police", "pol-1", "")]),
    ("red also goes to the street centre", (STREET_ON_RED,),
     decision("stay_in", "person", "p-1", "red"),
     [("grid_worker", "w-1", ""), ("police", "pol-1", ""), ("street", "s-1", "red-to-street")]),
    ("per-kind route adds the district", (STREET_ON_RED, FIRE_TO_DISTRICT),
     decision("sensor_threshold", "device", "d-1", "orange"),
     [("grid_worker", "w-1", ""), ("police", "pol-1", ""), ("district", "d-1", "fire"),
      ("street", "s-1", "fire")]),
    ("a level named by two routes appears once, from the first", (STREET_ON_RED,
                                                                  FIRE_TO_DISTRICT),
     decision("sensor_threshold", "device", "d-1", "red"),
     [("grid_worker", "w-1", ""), ("police", "pol-1", ""), ("street", "s-1", "red-to-street"),
      ("district", "d-1", "fire")]),
    ("the street of the subject's own grid", (STREET_ON_RED,),
     decision("stay_in", "person", "p-9", "red"),
     [("grid_worker", "w-2", ""), ("police", "pol-1", ""), ("street", "s-2", "red-to-street")]),
    ("an unassigned subject has nobody to route to", (STREET_ON_RED,),
     decision("stay_in", "person", "p-unknown", "red"), []),
    ("a route on a label", (Route(name="s2", match=Match(labels={"street_id": "s-2"}),
                                  notify=("city",)),),
     decision("crowd", "grid", "g-2", "yellow"),
     [("grid_worker", "w-2", ""), ("police", "pol-1", ""), ("city", "daqing", "s2")]),
]


@pytest.mark.parametrize(("routes", "d", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_routes(routes: tuple[Route, ...], d: Decision,
                expected: list[tuple[str, str, str]]) -> None:
    c = candidate(Pipe(), d)
    got = AlertRouter(routes).routes(c.alert, c.labels)
    assert [(r["to"], r["id"], r.get("route", "")) for r in got] == expected


def test_every_sent_alert_carries_its_routes() -> None:
    [alert] = Pipe().decide(decision("stay_in", "person", "p-1", "red"))
    assert routed_to(alert, ("street",)) and not routed_to(alert, ("district",))


@pytest.mark.parametrize(("bad", "message"), [
    ({"name": "x", "notify": []}, "at least 1 item"),
    ({"name": "x", "notify": ["province"]}, "community"),
    ({"name": "x", "notify": ["street"], "match": {"labels": {"stret_id": "s"}}},
     "unknown label 'stret_id'"),
    ({"name": "x", "notify": ["street"], "match": {"kinds": ["fire"]}}, "long_absent"),
])
def test_bad_routes_are_refused_with_the_reason(bad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Route.model_validate(bad)
