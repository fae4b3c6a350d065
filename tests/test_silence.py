"""Silences: matchers and time windows (table), validation, audit trail, release on expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from alertkit import T0, TZ, H, Pipe, brief, candidate, decision, silence

from config.alerts import SilenceSettings
from detectors.base import Decision
from sinks.silence import (
    SilenceBook,
    SilenceError,
    Silencer,
    expire,
    load_silences,
    new_silence,
    parse_matchers,
)

CASES = [
    # name, matchers, silence window (hours), decision, muted?
    ("a person's hospital stay mutes their alerts", {"subject_id": "p-1"}, (0, 72),
     decision("stay_in", "person", "p-1", t=5), True),
    ("other persons are not muted", {"subject_id": "p-1"}, (0, 72),
     decision("stay_in", "person", "p-9", t=5), False),
    ("not before it starts", {"subject_id": "p-1"}, (10, 72),
     decision("stay_in", "person", "p-1", t=5), False),
    ("not after it ends (automatic expiry)", {"subject_id": "p-1"}, (0, 4),
     decision("stay_in", "person", "p-1", t=5), False),
    ("the end is exclusive", {"subject_id": "p-1"}, (0, 5),
     decision("stay_in", "person", "p-1", t=5), False),
    ("a building under repair mutes its devices", {"building": "b-1"}, (0, 72),
     decision("device_offline", "device", "d-2", t=1), True),
    ("and the persons living in it", {"building": "b-1"}, (0, 72),
     decision("stay_in", "person", "p-1", t=1), True),
    ("a kind in one street", {"kind": "crowd", "street_id": "s-2"}, (0, 72),
     decision("crowd", "grid", "g-2", t=1), True),
    ("every matcher must match", {"kind": "crowd", "street_id": "s-2"}, (0, 72),
     decision("crowd", "grid", "g-1", t=1), False),
    ("one of several values", {"kind": ["no_usage", "stay_in"]}, (0, 72),
     decision("no_usage", "house", "h-1", t=1), True),
    ("severity as a matcher", {"kind": "stay_in", "severity": "yellow"}, (0, 72),
     decision("stay_in", "person", "p-1", "red", t=1), False),
]


@pytest.mark.parametrize(("matchers", "window", "d", "muted"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_silence_matching(matchers: dict, window: tuple[float, float], d: Decision,
                          muted: bool) -> None:
    silencer = Silencer(SilenceBook([silence(matchers, *window)]))
    assert silencer.mutes(candidate(Pipe(), d)) is muted


NOW = datetime.fromtimestamp(T0, TZ)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"matchers": {}}, "at least one matcher"),
    ({"ends_at": NOW - timedelta(hours=1)}, "must be after starts_at"),
    ({"ends_at": NOW + timedelta(days=365)}, "at most 90 days"),
    ({"reason": "  "}, "needs a reason"),
    ({"matchers": {"persn": "p-1"}}, "unknown label 'persn'"),
])
def test_bad_silences_are_refused_with_the_reason(kwargs: dict, message: str) -> None:
    args = {"matchers": {"subject_id": "p-1"}, "starts_at": NOW,
            "ends_at": NOW + timedelta(days=3), "reason": "住院", "author": "op-1", "now": NOW,
            "limits": SilenceSettings()} | kwargs
    with pytest.raises(SilenceError, match=message):
        new_silence(**args)


def test_parse_matchers() -> None:
    assert parse_matchers(["kind=no_usage", "house=h-1, h-2"]) == {
        "kind": "no_usage", "house": ["h-1", "h-2"]}
    with pytest.raises(SilenceError, match="LABEL=VALUE"):
        parse_matchers(["kind"])


def test_expiry_is_an_audited_update_not_a_deletion(tmp_path: Path) -> None:
    s = silence({"house": "h-1"}, 0, 72, reason="楼栋维修")
    later = NOW + timedelta(hours=5)
    ended = expire(s, "op-2", later, "repair finished")
    assert ended.silence_id == s.silence_id and ended.ends_at == later
    assert [(c.action, c.author) for c in ended.history] == [("created", "op-test"),
                                                             ("expired", "op-2")]
    with pytest.raises(SilenceError, match="already ended"):
        expire(ended, "op-2", later + timedelta(hours=1))
    path = tmp_path / "silences.jsonl"
    path.write_bytes(s.record()[1] + b"\n" + ended.record()[1] + b"\n")
    book = load_silences(path)  # the latest line of an id wins
    assert len(book) == 1 and book.get(s.silence_id) == ended


def test_a_tombstone_removes_a_silence() -> None:
    s = silence({"house": "h-1"}, 0, 72)
    book = SilenceBook()
    book.apply(*s.record())
    version = book.version
    book.apply(s.silence_id.encode(), None)
    assert len(book) == 0 and book.version > version


def test_silenced_update_is_kept_visible_and_sent_when_the_silence_ends() -> None:
    pipe = Pipe(silences=SilenceBook([silence({"subject_id": "p-1"}, 0, 10, "住院")]))
    assert pipe.decide(decision("stay_in", "person", "p-1", "orange", t=2)) == []
    [muted] = pipe.muted()
    assert muted["muted"]["silences"][0]["reason"] == "住院"
    assert pipe.advance(9.99) == []
    out = pipe.advance(12)
    assert brief(out) == [("p-1", 2, "unmuted", "orange")]
    assert out[0]["ts"] == datetime.fromtimestamp(T0 + 10 * H, TZ).isoformat()


def test_an_early_expiry_releases_at_the_new_end() -> None:
    s = silence({"subject_id": "p-1"}, 0, 48)
    book = SilenceBook([s])
    pipe = Pipe(silences=book)
    pipe.decide(decision("stay_in", "person", "p-1", "orange", t=2))
    assert pipe.advance(5) == []
    book.put(expire(s, "op-2", datetime.fromtimestamp(T0 + 6 * H, TZ)))
    out = pipe.advance(7)
    assert brief(out) == [("p-1", 2, "unmuted", "orange")]
    assert out[0]["ts"] == datetime.fromtimestamp(T0 + 6 * H, TZ).isoformat()


def test_an_episode_resolved_while_silenced_stays_silent() -> None:
    pipe = Pipe(silences=SilenceBook([silence({"subject_id": "p-1"}, 0, 10)]))
    pipe.decide(decision("stay_in", "person", "p-1", t=1),
                decision("stay_in", "person", "p-1", t=3, status="resolved"))
    assert pipe.advance(20) == []
    assert [m["status"] for m in pipe.muted()] == ["firing", "resolved"]


def test_a_silence_does_not_hide_the_resolution_of_a_delivered_episode() -> None:
    book = SilenceBook()
    pipe = Pipe(silences=book)
    assert pipe.decide(decision("stay_in", "person", "p-1", t=1))
    book.put(silence({"subject_id": "p-1"}, 2, 10))
    assert pipe.decide(decision("stay_in", "person", "p-1", "red", t=3)) == []
    out = pipe.decide(decision("stay_in", "person", "p-1", "red", t=4, status="resolved"))
    assert brief(out) == [("p-1", 3, "resolved", "red")]


def test_replay_honours_a_silences_file_like_live(tmp_path: Path) -> None:
    """``replay --silences``: the smoke alarm of h-001 is muted until 07:50, then sent."""
    from gridwatch.cli import main

    data = Path(__file__).parent / "data"
    silences = tmp_path / "silences.jsonl"
    assert main(["silence", "add", "--file", str(silences), "--match", "kind=sensor_threshold",
                 "--match", "house=h-001", "--start", "2026-11-22T07:00:00+08:00",
                 "--until", "2026-11-22T07:50:00+08:00", "--reason", "drill"]) == 0
    out = tmp_path / "alerts.jsonl"
    assert main(["replay", str(data / "feed.jsonl"), "--registry", str(data / "registry"),
                 "--out", str(out), "--silences", str(silences)]) == 0
    sent = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    muted = [orjson.loads(x) for x in (tmp_path / "alerts.muted.jsonl").read_bytes()
             .splitlines()]
    smoke = [(a["seq"], a["update"], a["ts"][11:16]) for a in sent
             if a["subject"]["id"] == "sm-1001"]
    assert smoke == [(2, "unmuted", "07:50"), (3, "resolved", "08:05")]
    assert [(a["seq"], a["muted"]["silences"][0]["reason"]) for a in muted] == [(1, "drill")]
