"""Episode lifecycle: one id, growing seq, escalation, resolution and repeats in event time."""

from __future__ import annotations

from datetime import datetime

import pytest
from alertkit import T0, TZ, H, Pipe, brief, city, decision, silence
from pydantic import ValidationError

from config.alerts import AlertSettings
from config.models import load_settings
from gridwatch.contract import Alert
from gridwatch.events import Iot
from sinks.silence import SilenceBook
from streams.engine import Engine


def at(hours: float) -> str:
    return datetime.fromtimestamp(T0 + hours * H, TZ).isoformat()


def test_an_episode_is_one_id_with_growing_seq_through_escalation_and_resolution() -> None:
    pipe = Pipe()
    out = pipe.decide(decision("stay_in", "person", "p-1", "yellow", t=0),
                      decision("stay_in", "person", "p-1", "yellow", t=0.5),  # a repeat: dropped
                      decision("stay_in", "person", "p-1", "orange", t=0.7),
                      decision("stay_in", "person", "p-1", "orange", t=0.9, status="resolved"))
    assert brief(out) == [("p-1", 1, "opened", "yellow"), ("p-1", 2, "escalated", "orange"),
                          ("p-1", 3, "resolved", "orange")]
    assert len({a["alert_id"] for a in out}) == 1
    for a in out:
        Alert.model_validate(a)


REPEATS = [
    # name, severity, hours advanced, expected repeat times (hours)
    ("red repeats every hour", "red", 3.5, [1, 2, 3]),
    ("orange every four hours", "orange", 9, [4, 8]),
    ("yellow never", "yellow", 48, []),
    ("nothing before the interval", "red", 0.99, []),
]


@pytest.mark.parametrize(("severity", "until", "times"), [c[1:] for c in REPEATS],
                         ids=[c[0] for c in REPEATS])
def test_repeat_interval(severity: str, until: float, times: list[float]) -> None:
    pipe = Pipe()
    [opened] = pipe.decide(decision("sensor_threshold", "device", "d-1", severity))
    out = pipe.advance(until)
    assert [a["ts"] for a in out] == [at(h) for h in times]
    assert [a["seq"] for a in out] == list(range(2, 2 + len(times)))
    assert all(a["update"] == "repeat" and a["alert_id"] == opened["alert_id"] for a in out)
    assert all(a["evidence"] == opened["evidence"] for a in out)


def test_slow_patterns_repeat_daily_not_every_four_hours() -> None:
    pipe = Pipe()
    pipe.decide(decision("group_rental", "house", "h-1", "orange"),
                decision("sensor_threshold", "device", "d-1", "orange"))
    out = pipe.advance(25)
    assert [(a["subject"]["id"], a["ts"]) for a in out if a["subject"]["id"] == "h-1"] == \
        [("h-1", at(24))]
    assert len([a for a in out if a["subject"]["id"] == "d-1"]) == 6  # every 4 h
    with pytest.raises(ValidationError, match="repeat_interval_by_kind.crowd.red cannot be"):
        AlertSettings(repeat_interval_by_kind={"crowd": {"red": -1}})


def test_an_update_restarts_the_repeat_clock_and_resolution_stops_it() -> None:
    pipe = Pipe()
    pipe.decide(decision("sensor_threshold", "device", "d-1", "orange"))
    assert pipe.advance(3) == []
    pipe.decide(decision("sensor_threshold", "device", "d-1", "red", t=3))
    assert [a["ts"] for a in pipe.advance(4.5)] == [at(4)]  # red: 1 h after the escalation
    pipe.decide(decision("sensor_threshold", "device", "d-1", "red", t=4.6, status="resolved"))
    assert pipe.advance(24) == []


def test_a_muted_episode_is_not_repeated() -> None:
    book = SilenceBook()
    pipe = Pipe(silences=book)
    pipe.decide(decision("sensor_threshold", "device", "d-1", "red"))
    book.put(silence({"subject_id": "d-1"}, 0.5, 2.5))
    assert [a["ts"] for a in pipe.advance(3.5)] == [at(3)]  # 1 h and 2 h fall in the silence


def test_repeat_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="cannot be zero"):
        AlertSettings(repeat_interval_s={"red": 0})
    assert AlertSettings(repeat_interval_s={}).repeat_interval_s == {}


def test_engine_repeats_survive_a_checkpoint() -> None:
    """The live worker restores engines from snapshots; pending repeats must come along."""
    settings = load_settings()
    eng = Engine(settings, city())
    alerts = eng.process([Iot("e1", T0, "d-1", "smoke", 1.0)])
    assert [a["severity"] for a in alerts] == ["red"]
    copy = Engine(settings, city())
    copy.restore(eng.snapshot())
    later = [Iot("e2", T0 + 2.2 * H + settings.pipeline.allowed_lateness_s, "d-2", "smoke", 0.0)]
    assert [a["update"] for a in copy.process(later)] == ["repeat", "repeat"]
    assert [a["update"] for a in eng.process(later)] == ["repeat", "repeat"]
