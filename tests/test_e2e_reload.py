"""Hot reload on a running worker: a bad file is refused, a good one applies at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.models import Settings
from gridwatch.runner import WorkerProcess

pytestmark = pytest.mark.e2e


def gas(n: int, minute: int, value: float) -> dict[str, Any]:
    return {"event_id": f"g-{n}", "ts": f"2026-11-22T08:{minute:02d}:00+08:00",
            "device_id": "gs-1002", "metric": "gas", "value": value, "unit": "%LEL"}


def wait_for_log(proc: WorkerProcess, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in proc.log_path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            pytest.fail(f"worker log never said {text!r}:\n{proc.tail(30)}")
        time.sleep(0.2)


def set_gas_limit(config: Path, limit: Any) -> None:
    data = yaml.safe_load(config.read_text())
    for rule in data["detectors"]["sensor_threshold"]["rules"]:
        if rule["metric"] == "gas":
            rule["limit"] = limit
            if isinstance(limit, float):
                rule["clear"] = limit / 2
    config.write_text(yaml.safe_dump(data))


def test_a_running_worker_refuses_a_bad_config_then_applies_a_good_one(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any,
        tmp_path: Path) -> None:
    settings = e2e_settings()
    proc = worker(settings)
    config = tmp_path / "config-0.yaml"
    t = settings.kafka.topics
    alerts = topic(settings, t.alerts)
    send(settings, t.iot, gas(1, 0, 15.0))  # under the shipped 20 %LEL: no alert
    wait_for_log(proc, "opened from", timeout_s=60)  # running, with the first config
    set_gas_limit(config, "high")
    wait_for_log(proc, "refused, the running config stays")
    set_gas_limit(config, 12.0)
    wait_for_log(proc, "applied (detectors and alert rules)")
    send(settings, t.iot, gas(2, 5, 15.0))
    alerts.wait_for(lambda v: any(a["kind"] == "sensor_threshold" for a in v), worker=proc)
    fired = [a for a in alerts.settle() if a["kind"] == "sensor_threshold"]
    assert [(a["evidence"]["limit"], a["evidence"]["value"]) for a in fired] == [(12.0, 15.0)]
    assert proc.exit_code() is None
