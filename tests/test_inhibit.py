"""Inhibition rules: table-driven cases, then timelines through the dispatcher."""

from __future__ import annotations

import pytest
from alertkit import Pipe, brief, candidate, decision

from config.alerts import AlertSettings, InhibitRule, Match
from detectors.base import Decision
from sinks.inhibit import Inhibitor

CASES = [
    # name, firing sources, target, muted?
    ("red stay_in mutes no_usage of the same house",
     [decision("stay_in", "person", "p-1", "red")], decision("no_usage", "house", "h-1"), True),
    ("orange stay_in does not (the rule wants red)",
     [decision("stay_in", "person", "p-1", "orange")], decision("no_usage", "house", "h-1"),
     False),
    ("red stay_in of another house does not",
     [decision("stay_in", "person", "p-9", "red")], decision("no_usage", "house", "h-1"), False),
    ("out_no_return mutes no_usage of the same house",
     [decision("out_no_return", "person", "p-1", "yellow")],
     decision("no_usage", "house", "h-1"), True),
    ("red stay_in does not mute other kinds of the house",
     [decision("stay_in", "person", "p-1", "red")], decision("group_rental", "house", "h-1"),
     False),
    ("building outage mutes its devices' offline alerts",
     [decision("device_offline", "building", "b-1")], decision("device_offline", "device", "d-2"),
     True),
    ("building outage does not mute other buildings' devices",
     [decision("device_offline", "building", "b-1")], decision("device_offline", "device", "d-9"),
     False),
    ("building outage does not mute a smoke alarm in it",
     [decision("device_offline", "building", "b-1")],
     decision("sensor_threshold", "device", "d-1", "red"), False),
    ("a device offline does not mute its sibling (source must be the building)",
     [decision("device_offline", "device", "d-1")], decision("device_offline", "device", "d-2"),
     False),
    ("unknown places never match: a device missing from the registry",
     [decision("device_offline", "building", "b-1")],
     decision("device_offline", "device", "d-unknown"), False),
    ("a resolved source no longer mutes",
     [decision("stay_in", "person", "p-1", "red"),
      decision("stay_in", "person", "p-1", "red", t=1, status="resolved")],
     decision("no_usage", "house", "h-1"), False),
]


@pytest.mark.parametrize(("sources", "target", "muted"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_inhibition_rules(sources: list[Decision], target: Decision, muted: bool) -> None:
    pipe = Pipe()
    inhibitor = Inhibitor(AlertSettings().inhibit)
    for d in sources:
        inhibitor.observe(candidate(pipe, d))
    assert inhibitor.mutes(candidate(pipe, target)) is muted


def test_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule(name="self", source=Match(kinds=("no_usage",)),
                       target=Match(kinds=("no_usage",)), equal=("house",))
    pipe, inhibitor = Pipe(), Inhibitor((rule,))
    c = candidate(pipe, decision("no_usage", "house", "h-1"))
    inhibitor.observe(c)
    assert not inhibitor.mutes(c)


def test_inhibited_update_is_kept_visible_with_its_source_not_sent() -> None:
    pipe = Pipe()
    source = pipe.decide(decision("stay_in", "person", "p-1", "red"))
    assert brief(source) == [("p-1", 1, "opened", "red")]
    assert pipe.decide(decision("no_usage", "house", "h-1", t=1)) == []
    [muted] = pipe.muted()
    assert muted["kind"] == "no_usage" and muted["seq"] == 1
    [by] = muted["muted"]["inhibited_by"]
    assert by["rule"] == "stay_in-red-covers-no_usage"
    assert by["alert_id"] == source[0]["alert_id"] and by["subject"]["id"] == "p-1"


def test_target_is_released_when_the_source_resolves() -> None:
    pipe = Pipe()
    pipe.decide(decision("stay_in", "person", "p-1", "red"),
                decision("no_usage", "house", "h-1", t=1))
    out = pipe.decide(decision("stay_in", "person", "p-1", "red", t=5, status="resolved"))
    assert brief(out) == [("p-1", 2, "resolved", "red"), ("h-1", 2, "unmuted", "orange")]
    assert out[1]["ts"] == out[0]["ts"]  # at the event time the source ended


def test_a_resolution_of_a_delivered_episode_is_always_sent() -> None:
    pipe = Pipe()
    first = pipe.decide(decision("no_usage", "house", "h-1"))  # before any source: sent
    pipe.decide(decision("stay_in", "person", "p-1", "red", t=1))
    escalated = pipe.decide(decision("no_usage", "house", "h-1", "red", t=2))
    closed = pipe.decide(decision("no_usage", "house", "h-1", "red", t=3, status="resolved"))
    assert brief(first) == [("h-1", 1, "opened", "orange")] and escalated == []
    assert brief(closed) == [("h-1", 3, "resolved", "red")]  # seq 2 was the muted escalation


def test_a_never_delivered_episode_closes_silently() -> None:
    pipe = Pipe()
    pipe.decide(decision("stay_in", "person", "p-1", "red"),
                decision("no_usage", "house", "h-1", t=1))
    assert pipe.decide(decision("no_usage", "house", "h-1", t=2, status="resolved")) == []
    assert [m["status"] for m in pipe.muted()] == ["firing", "resolved"]
    # the source's later resolution releases nothing: the target is closed
    out = pipe.decide(decision("stay_in", "person", "p-1", "red", t=3, status="resolved"))
    assert brief(out) == [("p-1", 2, "resolved", "red")]


def test_inhibitor_state_survives_a_checkpoint() -> None:
    import pickle

    pipe = Pipe()
    pipe.decide(decision("device_offline", "building", "b-1"))
    state = pickle.loads(pickle.dumps(pipe.dispatch.snapshot()))
    fresh = Pipe()
    fresh.book.open = pipe.book.open
    fresh.dispatch.restore(state)
    assert fresh.decide(decision("device_offline", "device", "d-1", t=1)) == []
