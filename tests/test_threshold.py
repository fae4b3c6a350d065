"""``sensor_threshold``: debounce, hysteresis, escalation, device-class rules, no flapping."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from config.sensor import Level, SensorThresholdConfig, ThresholdRule
from detectors.threshold import SensorThreshold
from gridwatch.events import Iot
from gridwatch.registry import Registry

T0 = 1_800_000_000.0


def run(det: SensorThreshold, readings: list[tuple[float, str, float]],
        metric: str = "gas", unit: str | None = None) -> list[tuple[str, str, float, float]]:
    out = []
    for i, (dt, device, value) in enumerate(readings):
        for d in det.observe(Iot(f"e{i}", T0 + dt, device, metric, value, unit)):
            out.append((d.status, d.severity, d.start - T0, d.t - T0))
    return out


def default() -> SensorThreshold:
    return SensorThreshold(SensorThresholdConfig(), Registry())


def test_gas_escalates_once_and_resolves_only_below_clear() -> None:
    got = run(default(), [(0, "g", 5), (60, "g", 25), (120, "g", 60), (180, "g", 30),
                          (240, "g", 15), (300, "g", 9), (360, "g", 12)])
    assert got == [("firing", "orange", 60, 60), ("firing", "red", 60, 120),
                   ("resolved", "red", 60, 300)]


def test_temperature_needs_two_readings_and_starts_at_the_first() -> None:
    got = run(default(), [(0, "t", 60), (60, "t", 40), (120, "t", 61), (180, "t", 62)],
              metric="temperature")
    assert got == [("firing", "orange", 120, 180)]


def test_duration_debounce() -> None:
    rule = ThresholdRule(metric="gas", limit=20, clear=10, for_seconds=300)
    det = SensorThreshold(SensorThresholdConfig(rules=[rule]), Registry())
    got = run(det, [(0, "g", 25), (120, "g", 25), (240, "g", 25), (300, "g", 25)])
    assert got == [("firing", "orange", 0, 300)]


def test_below_rule() -> None:
    rule = ThresholdRule(metric="temperature", direction="below", limit=2, clear=5,
                         severity="yellow")
    det = SensorThreshold(SensorThresholdConfig(rules=[rule]), Registry())
    got = run(det, [(0, "t", 8), (60, "t", 1), (120, "t", 4), (180, "t", 6)],
              metric="temperature")
    assert got == [("firing", "yellow", 60, 60), ("resolved", "yellow", 60, 180)]


def test_an_older_reading_cannot_undo_a_newer_verdict() -> None:
    got = run(default(), [(0, "s", 0), (120, "s", 1), (60, "s", 0)], metric="smoke")
    assert got == [("firing", "red", 120, 120)]


def class_rules() -> SensorThresholdConfig:
    return SensorThresholdConfig(rules=[
        *SensorThresholdConfig().rules,
        # kitchen heat detectors (EN 54-5 class B/C) sit near stoves: their own limit
        ThresholdRule(metric="temperature", limit=75, clear=65, device_prefix="tmk-",
                      for_count=2),
        ThresholdRule(metric="temperature", limit=135, clear=120, unit="°F", for_count=2,
                      escalate=[Level(limit=176, severity="red")]),
    ])


def test_a_device_class_rule_replaces_the_generic_one() -> None:
    det = SensorThreshold(SensorThresholdConfig(rules=class_rules().rules), Registry())
    kitchen = run(det, [(0, "tmk-1", 60), (60, "tmk-1", 62)], metric="temperature")
    living = run(det, [(0, "tm-1", 60), (60, "tm-1", 62)], metric="temperature")
    assert kitchen == [] and living == [("firing", "orange", 0, 60)]
    hot = run(det, [(120, "tmk-1", 80), (180, "tmk-1", 81)], metric="temperature")
    assert hot == [("firing", "orange", 120, 180)]


def test_a_unit_rule_reads_fahrenheit() -> None:
    det = SensorThreshold(class_rules(), Registry())
    warm = run(det, [(0, "tf-1", 100), (60, "tf-1", 104)], metric="temperature", unit="°F")
    assert warm == []  # 104 °F = 40 °C: the generic 57 °C rule must not read it as Celsius
    fire = run(det, [(120, "tf-1", 140), (180, "tf-1", 180)], metric="temperature", unit="°F")
    assert fire == [("firing", "red", 120, 180)]


hovering = st.lists(st.floats(min_value=10.01, max_value=60.0), min_size=1, max_size=200)


@given(hovering)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_a_sensor_hovering_above_clear_never_flaps(values: list[float]) -> None:
    """Between the clear (10) and far past the limit (20): at most one episode, never resolved."""
    got = run(default(), [(i * 60.0, "g", v) for i, v in enumerate(values)])
    assert [s for s, *_ in got].count("resolved") == 0
    assert len({start for *_, start, _ in got}) <= 1


@given(st.lists(st.floats(min_value=0.0, max_value=60.0), min_size=1, max_size=300))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_episodes_alternate_and_need_a_reading_below_clear_between(values: list[float]) -> None:
    det = default()
    statuses: list[str] = []
    dipped = True
    for i, v in enumerate(values):
        for d in det.observe(Iot(f"e{i}", T0 + 60.0 * i, "g", "gas", v)):
            if d.status == "firing" and (not statuses or statuses[-1] == "resolved"):
                assert dipped  # a new episode only after a clean clear
                dipped = False
            statuses.append(d.status)
        dipped = dipped or v <= 10.0
    opened = [s for i, s in enumerate(statuses)
              if s == "firing" and (i == 0 or statuses[i - 1] == "resolved")]
    assert statuses.count("resolved") in (len(opened), len(opened) - 1)


@given(st.lists(st.tuples(st.integers(0, 9), st.floats(0.0, 60.0)), max_size=400))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_state_is_bounded_by_devices_and_rules(readings: list[tuple[int, float]]) -> None:
    det = default()
    for i, (dev, v) in enumerate(readings):
        det.observe(Iot(f"e{i}", T0 + 60.0 * i, f"g{dev}", "gas", v))
    assert len(det.state) <= 10
    assert all(s.open_start is not None or s.count > 0 for s in det.state.values())
    pickle.loads(det.snapshot())
