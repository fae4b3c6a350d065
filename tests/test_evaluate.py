"""`gridwatch evaluate`: what counts as a detection and what as a false alarm."""

from __future__ import annotations

from typing import Any

from gridwatch.evaluate import format_table, score

SICK = {"kind": "no_usage", "subject_type": "house", "subject_id": "h-1", "grid_id": "g-1",
        "start": "2026-11-04T07:00:00+08:00", "end": "2026-11-05T22:00:00+08:00",
        "detail": {"person_id": "p-1", "also": ["stay_in"]}}


def episode(aid: str, kind: str, stype: str, sid: str, ts: str) -> dict[str, Any]:
    return {"alert_id": aid, "status": "firing", "kind": kind, "ts": ts,
            "subject": {"type": stype, "id": sid}, "grid": {"grid_id": "g-1"}}


def test_an_alert_the_truth_lists_under_also_is_right_but_detects_nothing_of_its_kind() -> None:
    alerts = [episode("a1", "no_usage", "house", "h-1", "2026-11-04T19:00:00+08:00"),
              episode("a2", "stay_in", "person", "p-1", "2026-11-04T20:00:00+08:00")]
    s = score(alerts, [SICK])
    assert (s["no_usage"].detected, s["no_usage"].precision) == (1, 1.0)
    assert s["no_usage"].found_as_also == 0
    assert (s["stay_in"].incidents, s["stay_in"].detected) == (0, 0)
    assert s["stay_in"].precision == 1.0


def test_an_also_kind_about_someone_else_or_out_of_the_window_stays_false() -> None:
    alerts = [episode("a1", "stay_in", "person", "p-2", "2026-11-04T20:00:00+08:00"),
              episode("a2", "stay_in", "person", "p-1", "2026-11-07T20:00:00+08:00"),
              episode("a3", "out_no_return", "person", "p-1", "2026-11-04T20:00:00+08:00")]
    s = score(alerts, [SICK])
    assert s["stay_in"].episodes == 2 and s["stay_in"].precision == 0.0
    assert s["out_no_return"].precision == 0.0


def test_an_incident_found_only_by_an_also_kind_is_missed_and_noted() -> None:
    s = score([episode("a2", "stay_in", "person", "p-1", "2026-11-04T11:00:00+08:00")], [SICK])
    assert (s["no_usage"].recall, s["no_usage"].found_as_also) == (0.0, 1)
    assert "no_usage: 1 of the missed found by a kind" in format_table(s)


def test_a_fall_s_no_usage_is_about_its_home_and_right() -> None:
    """The truth of a fall is about the person; the water silence it lists under ``also``
    is reported about their house (``detail.house_id``), and counts as right."""
    fall = {"kind": "stay_in", "subject_type": "person", "subject_id": "p-1", "grid_id": "g-1",
            "start": "2026-11-04T07:00:00+08:00", "end": "2026-11-05T22:00:00+08:00",
            "detail": {"house_id": "h-1", "person_id": "p-1", "also": ["no_usage"]}}
    alerts = [episode("a1", "stay_in", "person", "p-1", "2026-11-04T10:00:00+08:00"),
              episode("a2", "no_usage", "house", "h-1", "2026-11-04T19:00:00+08:00"),
              episode("a3", "no_usage", "house", "h-2", "2026-11-04T19:00:00+08:00")]
    s = score(alerts, [fall])
    assert (s["no_usage"].episodes, s["no_usage"].true_episodes) == (2, 1)
