"""``sensor_anomaly``: synthetic series with known anomalies, and series without any."""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Callable, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from config.iot import AnomalyMetric, SensorAnomalyConfig
from detectors.anomaly import SensorAnomaly
from detectors.base import Decision
from gridwatch.events import Iot
from gridwatch.registry import Registry

T0 = 86400.0 * 20833  # a UTC midnight (08:00 in UTC+8), a Thursday
HOUR = 3600.0
ONSET = 24 * 12 + 5  # anomalies begin on day 12, after warm-up, at 13:00 local
Series = Iterator[tuple[float, float]]


def local_hour(h: float) -> int:
    return int(h + 8) % 24


def weekend(h: float) -> bool:
    return (int((h + 8) // 24) + 3) % 7 >= 5


def water(rng: random.Random, days: int) -> Series:
    """A household: bursts of use (lognormal volumes) by day, an occasional flush at night."""
    for h in range(days * 24):
        local = local_hour(h)
        p = 0.05 if local < 6 else (0.6 if local in (7, 8, 19, 20, 21) else 0.25)
        if weekend(h) and 9 <= local <= 17:
            p = 0.5
        use = rng.lognormvariate(math.log(0.02), 0.8) if rng.random() < p else 0.0
        yield T0 + HOUR * (h + 1), use


def power(rng: random.Random, days: int) -> Series:
    """A household: a fridge base load, cooking peaks, appliances now and then."""
    for h in range(days * 24):
        local = local_hour(h)
        use = 0.15 * rng.uniform(0.8, 1.2)
        if 18 <= local <= 22:
            use += rng.lognormvariate(math.log(0.6), 0.5)
        elif 7 <= local <= 9:
            use += rng.lognormvariate(math.log(0.3), 0.5)
        elif rng.random() < 0.1:
            use += rng.lognormvariate(math.log(1.0), 0.5)
        yield T0 + HOUR * (h + 1), use


def building_main(rng: random.Random, days: int) -> Series:
    """A building's main meter: never still (the sum of 60 flats), but with a night floor."""
    for h in range(days * 24):
        local = local_hour(h)
        level = 0.3 + (1.2 if 6 <= local <= 22 else 0.0) + (0.5 if local in (7, 20) else 0.0)
        yield T0 + HOUR * (h + 1), level * rng.uniform(0.85, 1.15)


def run(series: Series, metric: str, mutate: Callable[[float, float], float] | None = None,
        det: SensorAnomaly | None = None, device: str = "m-1") -> list[Decision]:
    det = det or SensorAnomaly(SensorAnomalyConfig(), Registry())
    out: list[Decision] = []
    for i, (t, v) in enumerate(series):
        h = (t - T0) / HOUR
        out += det.observe(Iot(f"e{i}", t, device, metric, mutate(h, v) if mutate else v))
    return out


def opened(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.status == "firing" and d.severity == "yellow"]


def hours(d: Decision) -> tuple[str, float, float]:
    return d.evidence["test"], (d.start - T0) / HOUR, (d.t - T0) / HOUR


# ------------------------------------------------------------ known anomalies
def test_a_small_leak_fires_after_24_hours_without_a_still_hour_and_resolves() -> None:
    def leak(h: float, v: float) -> float:
        return v + (0.01 if ONSET < h <= ONSET + 72 else 0.0)  # 10 L/h for three days

    got = run(water(random.Random(1), 21), "water", leak)
    assert [d.status for d in got] == ["firing", "resolved"]
    test, start, t = hours(got[0])
    assert test == "continuous_flow" and ONSET - 6 <= start <= ONSET and t - start == 24
    assert got[0].evidence["hours_without_still"] == 24
    assert 0.5 <= got[0].evidence["score"] < 0.8
    assert ONSET + 72 < hours(got[1])[2] <= ONSET + 72 + 24  # the first still hour after


@given(st.integers(0, 10_000))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_a_running_toilet_is_caught_within_a_day(seed: int) -> None:
    """12 L/h: the level-shift test may see it before the continuous-flow test's 24 h."""
    got = run(water(random.Random(seed), 21), "water", lambda h, v: v + 0.012 * (h > ONSET))
    test, start, t = hours(opened(got)[0])
    assert ONSET - 8 <= start <= ONSET + 12 and t - ONSET <= 24.5


@given(st.integers(0, 10_000))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_a_heater_left_on_fires_within_a_day_and_a_half(seed: int) -> None:
    """A 2 kW heater: more than the household's usual daily peak, every hour."""
    got = run(power(random.Random(seed), 21), "power", lambda h, v: v + 2.0 * (h > ONSET))
    test, start, t = hours(opened(got)[0])
    # start is Page's change-point estimate: where the sum last left zero, so it may
    # fall a few hours after the onset when the evening peak hid the first hours
    assert test == "level_shift" and ONSET - 6 <= start <= ONSET + 24 and t - ONSET <= 36


def monthly_night_load(h: float, v: float) -> float:
    """A storage heater's 5 kW for six hours from local 01:00, every 30 days from day 12."""
    day, local = divmod(h + 8, 24)
    return v + (5.0 if day >= 12 and (day - 12) % 30 == 0 and 1 <= local < 7 else 0.0)


def test_a_monthly_scheduled_load_fires_twice_then_is_known() -> None:
    """The profile learns hours and day types, not dates: each run departs from it. Once
    two runs have begun a month apart at the same hour, the third and later do not open
    episodes; with ``recurring: false`` every run does."""
    runs = [12 + 30 * k for k in range(4)]

    def run_days(config: SensorAnomalyConfig) -> list[int]:
        got = run(power(random.Random(3), 12 + 30 * 3 + 3), "power", monthly_night_load,
                  det=SensorAnomaly(config, Registry()))
        return [int((d.t - T0) / HOUR + 8) // 24 for d in opened(got)]

    assert run_days(SensorAnomalyConfig(recurring=False)) == runs
    assert run_days(SensorAnomalyConfig()) == runs[:2]


def test_a_power_spike_fires_on_its_reading_and_resolves_on_the_next() -> None:
    got = run(power(random.Random(4), 21), "power",
              lambda h, v: 25.0 if int(h) == ONSET else v)
    assert [(d.status, *hours(d)) for d in got] == [
        ("firing", "spike", ONSET - 1, ONSET), ("resolved", "spike", ONSET - 1, ONSET + 1)]
    assert got[0].evidence["rate_per_h"] == 25.0


def test_one_gross_water_reading_fires_at_once_and_a_bath_filled_once_does_not() -> None:
    """Water spikes need two readings in a row (a bath is one hour of heavy use, a burst
    pipe goes on), but a reading twenty times the usual peak needs no second: an hourly
    meter that billed 41.8 m³ in one hour (an independent city's glitch) was silent."""
    got = run(water(random.Random(6), 21), "water",
              lambda h, v: 41.8 if int(h) == ONSET else v)
    assert [(d.status, *hours(d)) for d in got] == [
        ("firing", "spike", ONSET - 1, ONSET), ("resolved", "spike", ONSET - 1, ONSET + 1)]
    assert run(water(random.Random(6), 21), "water",
               lambda h, v: v + 0.25 if int(h) == ONSET else v) == []


def test_a_level_metric_drop_is_found_as_a_shift_or_as_a_spike() -> None:
    cfg = SensorAnomalyConfig(metrics=[AnomalyMetric(metric="temperature", reading="level",
                                                     direction="both", min_scale=0.2)])
    rng = random.Random(5)

    def room(days: int) -> Series:
        for h in range(days * 24):
            daily = 2.0 * math.sin(2 * math.pi * (local_hour(h) - 9) / 24)
            yield T0 + HOUR * (h + 1), 21.0 + daily + rng.gauss(0, 0.3)

    def drop(size: float) -> Callable[[float, float], float]:
        return lambda h, v: v - size * (ONSET < h <= ONSET + 10)

    got = run(room(21), "temperature", drop(8), SensorAnomaly(cfg, Registry()))
    assert [(d.status, *hours(d)) for d in got] == [
        ("firing", "level_shift", ONSET, ONSET + 4),  # gross: 4 hours, not the 8 of a 2σ shift
        ("resolved", "level_shift", ONSET, ONSET + 47)]  # a day calm after the sum emptied
    rng.seed(5)
    got = run(room(21), "temperature", drop(20), SensorAnomaly(cfg, Registry()))
    assert hours(got[0]) == ("spike", ONSET, ONSET + 1)


# ------------------------------------------------------------ nothing to find
@given(st.integers(0, 10_000))
@settings(max_examples=12, deadline=None, derandomize=True)
def test_household_water_with_weekly_rhythm_raises_nothing(seed: int) -> None:
    assert run(water(random.Random(seed), 28), "water") == []


@given(st.integers(0, 10_000))
@settings(max_examples=12, deadline=None, derandomize=True)
def test_household_power_raises_nothing(seed: int) -> None:
    assert opened(run(power(random.Random(seed), 28), "power")) == []


def test_a_main_that_never_stands_still_is_no_leak() -> None:
    assert run(building_main(random.Random(6), 28), "water") == []


def test_a_drifting_baseline_is_followed() -> None:
    """+60 % over four weeks (a family growing, the season turning) is not an anomaly."""
    got = run(power(random.Random(7), 28), "power", lambda h, v: v * (1 + 0.6 * h / (28 * 24)))
    assert opened(got) == []


@given(st.integers(0, 10_000))
@settings(max_examples=8, deadline=None, derandomize=True)
def test_a_week_away_then_back_is_not_an_anomaly(seed: int) -> None:
    """Use falls to nothing (water) or to the fridge (power) for a week, then comes back."""
    def away(h: float, v: float) -> float:
        return 0.0 if 24 * 10 <= h < 24 * 17 else v

    def fridge_only(h: float, v: float) -> float:
        return 0.15 if 24 * 10 <= h < 24 * 17 else v

    assert run(water(random.Random(seed), 28), "water", away) == []
    assert opened(run(power(random.Random(seed), 28), "power", fridge_only)) == []


def test_gaps_are_neither_spikes_nor_learned() -> None:
    """Twelve missed hourly reads; the next read carries their whole amount."""
    rng = random.Random(9)
    series = list(power(rng, 21))
    kept = [(t, v) for t, v in series if not ONSET <= (t - T0) / HOUR < ONSET + 12]
    catch_up = sum(v for t, v in series if ONSET <= (t - T0) / HOUR <= ONSET + 12)
    kept = [(t, catch_up if (t - T0) / HOUR == ONSET + 12 else v) for t, v in kept]
    assert opened(run(iter(kept), "power")) == []


def test_nothing_is_judged_during_warm_up() -> None:
    got = run(power(random.Random(10), 6), "power", lambda h, v: 40.0 if int(h) == 40 else v)
    assert got == []


def test_an_older_reading_is_dropped_and_changes_nothing() -> None:
    det = SensorAnomaly(SensorAnomalyConfig(), Registry())
    run(power(random.Random(11), 10), "power", det=det)
    before = det.snapshot()
    assert det.observe(Iot("late", T0 + 5 * 86400, "m-1", "power", 99.0)) == []
    assert det.snapshot() == before


def test_unconfigured_metrics_are_ignored() -> None:
    det = SensorAnomaly(SensorAnomalyConfig(), Registry())
    ev = Iot("e", T0, "sm-1", "smoke", 1.0)
    assert det.shard_key(ev) is None and det.observe(ev) == [] and det.series == {}


# ------------------------------------------------------------ invariants
@given(st.lists(st.floats(0.0, 5.0), min_size=50, max_size=400), st.integers(0, 2))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_scores_are_in_unit_interval_and_episodes_alternate(values: list[float],
                                                            gap_every: int) -> None:
    cfg = SensorAnomalyConfig(warmup_days=1)
    det = SensorAnomaly(cfg, Registry())
    t, statuses = T0, []
    for i, v in enumerate(values):
        t += HOUR * (3 if gap_every and i % (7 * gap_every) == 0 else 1)
        for d in det.observe(Iot(f"e{i}", t, "m", "water", v)):
            assert 0.0 <= d.evidence["score"] <= 1.0
            if d.status == "resolved":
                assert statuses and statuses[-1] == "firing"
            statuses.append(d.status)


def test_state_per_device_is_fixed_size() -> None:
    def size_after(days: int) -> int:
        det = SensorAnomaly(SensorAnomalyConfig(), Registry())
        run(water(random.Random(12), days), "water", det=det)
        return len(pickle.dumps(det.series[("m-1", "water")]))

    week, month = size_after(7), size_after(35)
    assert month <= week + 16 and month < 1100


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0.1, 30.0), st.floats(-1.0, 50.0),
                          st.booleans()), min_size=1, max_size=600))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_state_is_bounded_by_devices_and_metrics(
        readings: list[tuple[int, float, float, bool]]) -> None:
    """Any readings — gaps, resets, bursts, out of order — keep one fixed-size record per series."""
    det = SensorAnomaly(SensorAnomalyConfig(warmup_days=1), Registry())
    t = T0
    for i, (dev, step_h, value, late) in enumerate(readings):
        t += HOUR * step_h
        metric = "water" if dev % 2 else "power"
        det.observe(Iot(f"e{i}", t - (6 * HOUR if late else 0.0), f"m-{dev // 2}", metric, value))
    assert len(det.series) <= 6
    assert all(len(pickle.dumps(s)) < 1100 for s in det.series.values())


@given(st.integers(0, 10_000), st.lists(st.integers(1, 30), min_size=4, max_size=30))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_a_heater_switched_on_and_off_at_random_does_not_flap(seed: int,
                                                               blocks: list[int]) -> None:
    """Hysteresis: a level shift stays open a whole calm day, so never two in one day."""
    switches, h = [], float(ONSET)
    for length in blocks:
        h += length
        switches.append(h)

    def heater(h: float, v: float) -> float:
        on = sum(h > s for s in switches) % 2 == 0 and h > ONSET
        return v + 2.0 * on

    got = [d for d in run(power(random.Random(seed), 28), "power", heater)
           if d.evidence["test"] == "level_shift"]
    opens = [d.t for d in got if d.status == "firing" and d.severity == "yellow"]
    closes = [d.t for d in got if d.status == "resolved"]
    assert all(b - a >= 86400.0 for a, b in zip(opens, closes, strict=False))
    assert all(b - a >= 86400.0 for a, b in zip(opens, opens[1:], strict=False))


def test_snapshot_restore_continues_identically() -> None:
    series = list(power(random.Random(13), 21))
    mutate = lambda h, v: v + 2.0 * (h > ONSET)  # noqa: E731
    whole = run(iter(series), "power", mutate)
    det = SensorAnomaly(SensorAnomalyConfig(), Registry())
    run(iter(series[:300]), "power", mutate, det)
    fresh = SensorAnomaly(SensorAnomalyConfig(), Registry())
    fresh.restore(det.snapshot())
    rest = run(iter(series[300:]), "power", mutate, fresh)
    later = [d for d in whole if d.t > series[299][0]]
    assert [(d.status, d.severity, hours(d)) for d in rest] == [
        (d.status, d.severity, hours(d)) for d in later] != []


# ------------------------------------------------------------ cadences, mains, device classes
def quarters(rng: random.Random, days: int) -> Iterator[list[float]]:
    """A household's power per quarter hour: bursts of appliances on a fridge's base."""
    for h in range(days * 24):
        local = local_hour(h)
        busy = 0.25 if 18 <= local <= 22 or 7 <= local <= 8 else 0.03
        yield [0.04 + (rng.lognormvariate(math.log(0.4), 0.6) if rng.random() < busy else 0.0)
               for _ in range(4)]


def test_a_quarter_hourly_meter_is_judged_as_the_same_meter_read_hourly() -> None:
    """96 readings a day (a State Grid meter) or 24: the same verdicts, the same evidence.
    Sub-hourly amounts are summed into hours before any test, so a burst over a quarter
    hour does not raise the floors and limits that were learned for hours."""
    rng = random.Random(21)
    heater = lambda h, q: q + (0.5 if ONSET <= h < ONSET + 12 else 0.0)  # noqa: E731
    days = [[heater(h, q) for q in qs] for h, qs in enumerate(quarters(rng, 21))]
    hourly, quarterly = [(T0, 0.0)], [(T0, 0.0)]
    for h, qs in enumerate(days):
        total = 0.0
        for k, q in enumerate(qs):
            total += q
            quarterly.append((T0 + HOUR * h + 900.0 * (k + 1), q))
        hourly.append((T0 + HOUR * (h + 1), total))

    def verdicts(series: list[tuple[float, float]]) -> list[tuple[object, ...]]:
        return [(d.status, d.severity, hours(d), d.evidence["value"], d.evidence["score"])
                for d in run(iter(series), "power")]

    found = verdicts(hourly)
    assert any(v[0] == "firing" and v[2][0] == "level_shift" for v in found)  # the heater
    assert verdicts(quarterly) == found


def flat_main(rng: random.Random, days: int) -> Series:
    """A water main that never stands still: ~100 m³/h, a ±3 % daily rhythm, ±1 % noise."""
    for h in range(days * 24):
        yield T0 + HOUR * (h + 1), 100 * (1 + 0.03 * math.sin(2 * math.pi * local_hour(h) / 24)
                                            ) * rng.uniform(0.99, 1.01)


def public_main(det: SensorAnomaly | None = None) -> SensorAnomaly:
    reg = Registry()
    reg.put("devices", {"device_id": "m-1", "house_id": "", "grid_id": "g-1"})
    return det or SensorAnomaly(SensorAnomalyConfig(), reg)


def test_a_main_that_is_never_still_keeps_learning_and_a_fifth_more_is_a_leak() -> None:
    """Its quiet days are days of use (never 'nobody home'), so its baseline warms up; a
    leak of a fifth of its flow, begun at 13:00, is found in the night that follows (a
    rise of water is a leak once it flowed through a usually still night hour)."""
    det = SensorAnomaly(SensorAnomalyConfig(), Registry())
    assert run(flat_main(random.Random(22), 28), "water", det=det) == []
    assert det.series[("m-1", "water")].days >= 25
    leak = run(flat_main(random.Random(22), 28), "water", lambda h, v: v + 20 * (h >= ONSET))
    first = opened(leak)[0]
    assert first.evidence["test"] == "level_shift" and (first.t - T0) / HOUR - ONSET <= 18


def test_a_public_main_falling_to_a_fifth_fires_and_a_homes_water_falling_does_not() -> None:
    """Public meters are watched both ways by default; a home's water falling to nothing
    is no_usage's business (its resident's), not a sensor anomaly."""
    fall = lambda h, v: v * (0.2 if ONSET <= h < ONSET + 12 else 1.0)  # noqa: E731
    got = opened(run(flat_main(random.Random(23), 21), "water", fall, det=public_main()))
    assert [d.evidence["test"] for d in got] == ["level_shift"]
    assert 0 < (got[0].t - T0) / HOUR - ONSET <= 6
    reg = Registry()
    reg.put("devices", {"device_id": "m-1", "house_id": "h-1", "grid_id": "g-1"})
    home = SensorAnomaly(SensorAnomalyConfig(), reg)
    assert opened(run(flat_main(random.Random(23), 21), "water", fall, det=home)) == []


def test_a_meter_registered_as_a_public_main_while_running_is_judged_as_one() -> None:
    """The registry row of a main arrives after its first readings (an integrator's usual
    order): from then on it is watched both ways, without a restart."""
    reg = Registry()
    det = SensorAnomaly(SensorAnomalyConfig(), reg)
    fall = lambda h, v: v * (0.2 if ONSET <= h < ONSET + 12 else 1.0)  # noqa: E731
    series = list(flat_main(random.Random(23), 21))
    first = [(t, v) for t, v in series if t < T0 + 48 * HOUR]
    assert opened(run(iter(first), "water", fall, det=det)) == []  # unknown: a home's rules
    reg.put("devices", {"device_id": "m-1", "house_id": "", "grid_id": "g-1"})
    rest = iter([(t, v) for t, v in series if t >= T0 + 48 * HOUR])
    assert [d.evidence["test"] for d in opened(run(rest, "water", fall, det=det))] == \
        ["level_shift"]


def test_a_drifting_building_main_with_wandering_still_hours_is_no_leak() -> None:
    """+40 % over five weeks and still only an hour or two a night: its minimum is
    learned day by day, and still hours just over 24 h apart are not a leak until a
    whole night flows."""
    def drifting(rng: random.Random) -> Series:
        for t, v in building_main(rng, 35):
            yield t, v * (1 + 0.4 * (t - T0) / (35 * 86400))

    for seed in range(3):
        assert run(drifting(random.Random(seed)), "water", det=public_main()) == []


def test_a_metric_spec_applies_to_its_device_class_only() -> None:
    """Room thermometers (by prefix) watched as a level; other thermometers not at all."""
    room = AnomalyMetric(metric="temperature", reading="level", direction="both",
                         min_scale=0.2, device_prefix="th-room")
    det = SensorAnomaly(SensorAnomalyConfig(metrics=[room]), Registry())
    assert det.shard_key(Iot("a", T0, "th-room-7", "temperature", 20.0)) is not None
    outdoor = Iot("b", T0, "th-out-1", "temperature", 20.0)
    assert det.shard_key(outdoor) is None and det.observe(outdoor) == []


def test_two_specs_for_one_device_class_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    water = AnomalyMetric(metric="water", continuous_flow=True)
    with pytest.raises(ValidationError, match="same device class"):
        SensorAnomalyConfig(metrics=[water, water])


def test_a_commuter_household_home_all_its_first_saturday_is_no_shift() -> None:
    """Out until 17:00 on working days, home all day at the weekend: the first Saturday
    after warm-up is judged by the working days' profile at three times its whole scale
    (the peak floor included), so being home is no level shift; a heater left on that
    day still opens an episode."""
    monday = 4 * 24 - 8  # the meter is fitted on a Monday: its first weekend is after warm-up

    def commuter(rng: random.Random) -> Series:
        for h in range(monday, monday + 12 * 24):
            local, rest = local_hour(h), weekend(h)
            home = 8 <= local < 23 if rest else 17 <= local < 23
            yield T0 + HOUR * (h + 1), rng.uniform(0.05, 0.1) + (
                rng.uniform(0.35, 0.5) if home else 0.0)

    for seed in range(10):
        assert opened(run(commuter(random.Random(seed)), "power")) == []
    saturday = next(h for h in range(monday, monday + 24 * 7) if weekend(h)) + 8
    assert opened(run(commuter(random.Random(0)), "power",
                      lambda h, v: v + 2.0 * (saturday <= h < saturday + 14)))
