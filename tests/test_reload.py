"""Hot reload: new thresholds reach a running worker, state and events survive, bad files
are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from test_streams_worker import feed_messages, registry, run_live

from config.models import load_settings
from gridwatch.events import Iot
from gridwatch.registry import Registry
from gridwatch.replay import replay
from streams.engine import Engine
from streams.partitions import WorkProcessor
from streams.reload import ConfigWatcher
from streams.router import Router

T0 = 1_795_000_000.0


def gas_limit(limit: float) -> dict[str, Any]:
    """A config file's content lowering the household gas limit (and its clear level)."""
    rules = load_settings().model_dump(mode="json")["detectors"]["sensor_threshold"]["rules"]
    for rule in rules:
        if rule["metric"] == "gas":
            rule["limit"], rule["clear"] = limit, limit / 2
    return {"detectors": {"sensor_threshold": {"rules": rules}}}


def write(path: Path, content: dict[str, Any] | str) -> Path:
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def gas(n: int, t: float, value: float) -> Iot:
    return Iot(f"i-{n}", t, "gs-1002", "gas", value, "%LEL")


def test_a_lower_limit_applies_to_later_readings_under_the_new_config_hash(
        tmp_path: Path) -> None:
    s = load_settings()
    engine = Engine(s, registry())
    before = engine.process([gas(1, T0, 15.0)]) + engine.finish()
    engine.reconfigure(load_settings(write(tmp_path / "gw.yaml", gas_limit(12.0))))
    after = engine.process([gas(2, T0 + 60, 15.0)]) + engine.finish()
    assert before == []
    assert [(a["kind"], a["status"], a["evidence"]["limit"]) for a in after] == \
        [("sensor_threshold", "firing", 12.0)]
    old_hash = Engine(s, registry()).renderer.hashes["sensor_threshold"]
    assert after[0]["detector"]["config_hash"] not in ("", old_hash)


def test_an_open_episode_carries_over_a_reload_and_resolves_once(tmp_path: Path) -> None:
    engine = Engine(load_settings(), registry())
    fired = engine.process([gas(1, T0, 30.0)])
    engine.reconfigure(load_settings(write(tmp_path / "gw.yaml", gas_limit(25.0))))
    cleared = engine.process([gas(2, T0 + 600, 1.0)]) + engine.finish()
    assert [a["status"] for a in fired] == ["firing"]
    assert [(a["alert_id"], a["status"], a["seq"]) for a in cleared] == \
        [(fired[0]["alert_id"], "resolved", 2)]


def test_a_bad_file_is_refused_with_its_errors_and_the_running_config_stays(
        tmp_path: Path) -> None:
    path = write(tmp_path / "gw.yaml", gas_limit(12.0))
    watcher = ConfigWatcher(path, load_settings(path))
    write(path, "detectors:\n  sensor_threshold:\n    rules: [{metric: gas, limit: high}]\n")
    refused = watcher.poll()
    assert refused is not None and refused.settings is None
    assert refused.errors == ["detectors.sensor_threshold.rules.0.limit: Input should be a "
                              "valid number, unable to parse string as a number (got 'high')"]
    assert watcher.poll() is None  # the same bad file is not reported twice
    assert watcher.current.detectors.sensor_threshold.rules[1].limit == 12.0


def test_cold_sections_are_kept_until_a_restart_and_named(tmp_path: Path) -> None:
    path = write(tmp_path / "gw.yaml", {})
    watcher = ConfigWatcher(path, load_settings(path))
    write(path, {**gas_limit(12.0), "pipeline": {"allowed_lateness_s": 5}})
    outcome = watcher.poll()
    assert outcome is not None and outcome.settings is not None
    assert outcome.needs_restart == ["pipeline"]
    assert outcome.settings.pipeline == load_settings().pipeline
    assert outcome.settings.detectors.sensor_threshold.rules[1].limit == 12.0


class ReloadEvery:
    """Reloads an equal config (a new object: everything is rebuilt) every ``n``
    messages of the live path, and keeps the work processor to count its events."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.work: WorkProcessor | None = None

    def __call__(self, offset: int, router: Router, work: WorkProcessor) -> None:
        self.work = work
        if offset % self.n == self.n - 1:
            fresh = load_settings()
            router.reconfigure(fresh)
            work.reconfigure(fresh)


def test_reloads_under_load_lose_no_event_and_change_nothing_else(tmp_path: Path) -> None:
    from gridwatch.simulate import simulate

    simulate(tmp_path / "city", persons=60, days=5, seed=5)
    s, reg = load_settings(), Registry.from_dir(tmp_path / "city" / "registry")
    replay([tmp_path / "city" / "feed.jsonl"], reg, s, tmp_path / "replay.jsonl",
           show_progress=False)
    expected = [orjson.loads(line) for line in (tmp_path / "replay.jsonl").open("rb")]
    lines = [orjson.loads(line) for line in (tmp_path / "city" / "feed.jsonl").open("rb")]
    reloads = ReloadEvery(7)
    live = run_live(s, Registry.from_dir(tmp_path / "city" / "registry"),
                    feed_messages(lines, 5, seed=5), reloads)
    assert expected and reloads.work is not None
    # every event reached a work partition (one may go to two: two owners)
    assert reloads.work.stats["events"] >= len(lines)
    assert sorted((a["alert_id"], a["seq"], a["status"]) for a in live) == \
        sorted((a["alert_id"], a["seq"], a["status"]) for a in expected)
