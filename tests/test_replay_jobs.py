"""Replay on several cores: the same output as one process, linked families kept together."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from config.alerts import AlertSettings, InhibitRule
from config.models import Settings
from detectors.catalog import build_detectors
from gridwatch.registry import Registry
from gridwatch.replay import deadletter_path, muted_path, replay
from gridwatch.replay_jobs import split
from sinks.silence import SilenceBook, new_silence

BAD = [b'{"stream": "access", "event_id": "x-1", "ts": "2026-11-02T08:00:00+08:00", '
       b'"gate_id": "g", "direction": "sideways", "method": "face"}', b"not json at all"]


def city(tmp_path: Path) -> Path:
    """A small simulated city whose feed also holds bad lines and redelivered events."""
    from gridwatch.simulate import simulate

    simulate(tmp_path / "city", persons=60, days=5, seed=11)
    feed = tmp_path / "city" / "feed.jsonl"
    lines = feed.read_bytes().splitlines()
    feed.write_bytes(b"\n".join([*lines[:5000], *BAD, *lines[4000:5000], *lines[5000:]])
                     + b"\n")
    return tmp_path / "city"


def silences() -> SilenceBook:
    """stay_in muted from the city's fourth noon to 20:00: some updates are
    muted, and a silence ending releases what it held."""
    start = datetime.fromisoformat("2026-11-04T12:00:00+08:00")
    return SilenceBook([new_silence({"kind": "stay_in"}, start, start + timedelta(hours=8),
                                    "drill", "op-test", start, AlertSettings().silences)])


def dead_letters(out: Path) -> list[dict]:
    """The dead letters without the time they were read (each run reads them anew)."""
    return [{k: v for k, v in orjson.loads(x).items() if k != "received_at"}
            for x in deadletter_path(out).read_bytes().splitlines()]


@pytest.mark.parametrize("jobs", [2, 3])
def test_jobs_give_exactly_the_output_of_one_process(tmp_path: Path, jobs: int) -> None:
    where = city(tmp_path)
    reg, s = Registry.from_dir(where / "registry"), Settings()
    one, many = tmp_path / "one" / "alerts.jsonl", tmp_path / "many" / "alerts.jsonl"
    r1 = replay([where / "feed.jsonl"], reg, s, one, show_progress=False,
                silences=silences(), jobs=1)
    rn = replay([where / "feed.jsonl"], reg, s, many, show_progress=False,
                silences=silences(), jobs=jobs)
    assert many.read_bytes() == one.read_bytes()
    assert muted_path(many).read_bytes() == muted_path(one).read_bytes()
    assert dead_letters(many) == dead_letters(one)
    assert (rn.events, rn.bad_lines, rn.alerts, rn.muted, rn.by_kind, rn.first_t,
            rn.last_t) == (r1.events, r1.bad_lines, r1.alerts, r1.muted, r1.by_kind,
                           r1.first_t, r1.last_t)
    assert r1.bad_lines == 2 and r1.alerts > 20 and r1.muted > 0
    assert "unmuted" in {orjson.loads(x)["update"] for x in one.read_bytes().splitlines()}
    assert len({orjson.loads(x)["detector"]["name"] for x in one.read_bytes().splitlines()}) > 3


def test_families_linked_by_an_inhibit_rule_share_a_job() -> None:
    dets = build_detectors(Settings().detectors, Registry())
    rule = InhibitRule.model_validate({"name": "outage-covers-falls",
                                       "source": {"kinds": ["device_offline"]},
                                       "target": {"kinds": ["stay_in"]}, "equal": ["house"]})
    jobs = split(dets, [*AlertSettings().inhibit, rule], 3)
    together = [names for names in jobs if "presence" in names]
    assert len(jobs) == 3 and "device_offline" in together[0]
    assert sorted(n for names in jobs for n in names) == sorted(d.name for d in dets)


def test_a_rule_naming_no_kinds_keeps_every_family_in_one_process(tmp_path: Path) -> None:
    dets = build_detectors(Settings().detectors, Registry())
    red = InhibitRule.model_validate({"name": "red-covers-all", "source": {"severities": ["red"]},
                                      "target": {"severities": ["yellow"]}, "equal": ["grid_id"]})
    assert split(dets, [red], 4) == [[d.name for d in dets]]


def test_the_processes_run_this_source_tree_not_a_gridwatch_in_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m`` puts the current directory first: run from another checkout (here a
    decoy whose modules fail), a job or a parsing child would have run that code."""
    decoy = tmp_path / "decoy" / "gridwatch"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    for module in ("replay_jobs.py", "feedlines.py"):
        (decoy / module).write_text("raise SystemExit(3)\n")
    where = city(tmp_path)
    reg, s = Registry.from_dir(where / "registry"), Settings()
    monkeypatch.chdir(tmp_path / "decoy")
    jobs = replay([where / "feed.jsonl"], reg, s, tmp_path / "jobs.jsonl",
                  show_progress=False, jobs=2)
    child = replay([where / "feed.jsonl"], reg, s, tmp_path / "child.jsonl",
                   show_progress=False, parallel_parse=True, jobs=1)
    assert jobs.alerts == child.alerts > 20
