"""``sensor_anomaly``: a metered series departs from its own baseline (leak, spike, shift).

Each (device, metric) keeps a fixed-size baseline and runs three tests on
every reading; the strongest one, in units of its own limit (``u``), gives
the score ``u / (1 + u)`` in [0, 1]:

* **continuous flow** — the smart-water-meter leak test: the use never came
  down to its usual daily minimum (a still hour) for ``flow_hours``. It is
  what Kamstrup's "Leak" info code and AquaCUE's leak alert do; the minimum is
  learned, so a building main that never stands still is judged against its
  own floor.
* **level shift** — a one-sided CUSUM (Page 1954) of the robust z-score
  against a seasonal profile: expected rate per local hour for weekdays and
  weekends (the day types of standard load profiles), learned by Huber-clipped
  exponential smoothing (Gelper, Fried & Croux 2010) so that spikes do not
  bend it, plus a Holt level for drift. Nothing is learned while the meter is
  dormant (a day without use above its minimum: nobody home), so the return
  from a week away is judged against the usual, not against the absence.
* **spike** — a Hampel identifier on the device's usual *daily peak*, not on
  the hourly profile: household use is bursty, a shower at an odd hour is
  normal, a burst pipe is several times anything the meter usually sees. For
  amounts the test runs on logarithms: use volumes are close to lognormal
  (Buchberger & Wells 1996), so "how many times the usual peak" is the scale.

Readings are placed in time by their own interval: ``delta`` metrics (amounts
since the previous reading) become rates per hour, a reading after a gap is
neither learned from nor judged, and a reading older than the newest one seen
is dropped — it cannot be placed and must not undo a newer verdict. Readings
closer than an hour (a 15-minute power meter, 96 points a day) are summed
into hours first: use is burstier over a quarter of an hour than over an hour,
and the baselines, limits and floors are meant for hours, so the same
household is judged the same whether its meter reads every 15 minutes or
every hour.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from config.base import hash_of
from config.days import CalendarConfig
from config.iot import AnomalyMetric, SensorAnomalyConfig
from detectors.base import SEVERITY_RANK, Decision, DetectorBase, restore_slots
from detectors.days import DayTypes
from gridwatch.events import Event, Iot
from gridwatch.registry import Registry

HOUR, DAY = 3600.0, 86400.0
PROFILE_RATE = 0.15  # per day of a bin: ~4-day half-life
DAY_RATE = 0.2  # daily minimum/peak smoothing: ~3-day half-life
LEVEL_TAU_S = 3 * DAY  # level time constant: drift followed, a 2σ shift caught first
LOW_SPREAD = 0.02  # the minimum is known no better than the meter: ±2 % (OIML R49, class 2)
DEV_ALL_TAU_S = LEVEL_TAU_S  # the all-hours residual scale that floors each hour's
MEAN_TAU_S = 7 * DAY  # long-run mean rate, only a scale for the still margin
INTERVAL_RATE = 0.1
MIN_BIN_UPDATES = 3  # a profile bin trusted after three readings taught it; before, its
UNTAUGHT_SCALE = 3.0  # scale is tripled (the first weekend is judged by weekday habits)
CALM_S = DAY  # a level shift resolves after a day without departure, not in a quiet night
HUBER_C = 2.0  # Gelper et al. (2010) clip residuals at 2 scales when learning
CUSUM_CAP = 4.0  # × cusum_h (the orange score): a longer shift is certain, not more urgent,
# and a capped sum comes back under the clear level within a day of normal data
Z_CLIP = 5.0  # bounded influence: an hour moves the CUSUM by at most Z_CLIP - k = 3
MAD_TO_SIGMA = 1.2533  # mean absolute deviation → σ for a normal law (√(π/2))
LOG_FLOOR = 0.25  # daily peaks of amounts vary at least ±25 %: a spike is ≥ e^(6·0.25) = 4.5×
NIGHT_END = 6  # local hours 0–5: the minimum-night-flow window
DORMANT_S = DAY  # no use above the usual minimum for a day: nobody home, learn nothing
MIN_DAY_COVER = 0.75  # a day teaches its minimum and peak if readings cover 18 h of it
MAX_FLOW_INTERVAL_S = 3 * HOUR  # a still read must be possible: hourly or 2-hourly meters
HOURLY_S = 0.9 * HOUR  # readings closer than this are summed until they cover this much
RECUR_WEEKS = (7, 14)  # days apart of a weekly or fortnightly load
RECUR_MONTH = (27, 32)  # days apart of a monthly one (the same date, a calendar month on)
RECUR_TOL_S = HOUR  # the hour it begins at wanders this much
RECUR_KEEP = 6  # level-shift beginnings remembered per series


@dataclass(slots=True)
class _Series:
    """Everything one (device, metric) remembers: a few scalars and 72 float32 bins."""

    last_t: float
    first_t: float
    still_t: float  # last still reading: the continuous-flow run starts here
    active_t: float  # last reading above the still level: a day without one is dormancy
    n: int = 0
    interval: float = 0.0
    mean: float = 0.0
    prof: array = field(default_factory=lambda: array("f", bytes(4 * 48)))
    dev: array = field(default_factory=lambda: array("f", bytes(4 * 24)))
    taught: bytearray = field(default_factory=lambda: bytearray(48))  # updates per bin, ≤ 255
    level: float = 0.0  # Holt's level on top of the profile: follows drift within days
    dev_all: float = 0.0  # mean absolute residual over all hours
    cusum_up: float = 0.0
    cusum_dn: float = 0.0
    cusum_t: float = 0.0
    day: int = -1
    day_min: float = math.inf
    day_max: float = -math.inf
    day_cover: float = 0.0
    days: int = 0
    low: float = 0.0  # usual daily minimum
    low_dev: float = 0.0
    peak: float = 0.0  # usual daily peak, on the spike test's scale (log for amounts)
    peak_dev: float = 0.0
    run_min: float = math.inf
    night_flow: bool = False  # this run flowed through an hour whose profile is still
    spike_n: int = 0  # readings in a row past the spike limit
    spike_t: float = 0.0
    score: float = 0.0  # of the latest reading
    calm_t: float = 0.0  # since when an open level shift has been back under ``clear``
    open_start: float | None = None
    open_test: str = ""
    severity: str = ""
    part_v: float = 0.0  # sub-hourly readings summed so far (amount, or level × seconds)
    part_dt: float = 0.0  # and the seconds they cover
    shifts: list[float] | None = None  # where recent level shifts began (opened or not)
    skipped: float = -math.inf  # the beginning last held back as a recurring load

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Verdict:
    """The tests' statistics for one reading, and what the evidence shows."""

    u: dict[str, float]
    start: dict[str, float]
    rate: float
    still: float  # the still level for this reading (asked by several tests, worked out once)
    value: float = 0.0  # the reading's value (summed over the hour for a sub-hourly meter)
    expected: float | None = None
    z: float | None = None


class SensorAnomaly(DetectorBase):
    """Flag metered series that leave their own seasonal baseline; resolve when back.

    Examples
    --------
    A household meter, busy by day and still at night; its cistern runs from
    local midnight of day 9 to that of day 10 (hours are UTC, local is UTC+8).
    The run starts at the last still reading and fires 24 h later; it resolves
    at the first still hour after the repair (under 7 L, local noon):

    >>> import random
    >>> from gridwatch.events import Iot
    >>> rng = random.Random(7)
    >>> det = SensorAnomaly(SensorAnomalyConfig(), Registry())
    >>> found = []
    >>> for hour in range(24 * 11):
    ...     local = (hour + 8) % 24
    ...     use = 0.03 * rng.random() if 7 <= local <= 22 else 0.0
    ...     if 24 * 9 - 8 <= hour < 24 * 10:
    ...         use += 0.01  # 10 L/h, day and night
    ...     found += det.observe(Iot(f"e{hour}", 3600.0 * hour, "wm-1", "water", use))
    >>> [(d.status, d.evidence["test"], d.start / 3600, d.t / 3600) for d in found]
    [('firing', 'continuous_flow', 207.0, 231.0), ('resolved', 'continuous_flow', 207.0, 244.0)]
    >>> found[0].evidence["hours_without_still"], found[0].evidence["score"]
    (24.0, 0.5)
    """

    name = "sensor_anomaly"
    version = "1"
    streams = frozenset({"iot"})
    observe_filters = True
    _not_state = ("config", "registry", "metrics", "_days", "_specs", "_classes", "_spec_of",
                  "_spec_at", "_offset", "_floor_mad")

    def __init__(self, config: SensorAnomalyConfig, registry: Registry,
                 days: DayTypes | None = None) -> None:
        self.config = config
        self.registry = registry
        self._days = days or DayTypes(CalendarConfig())
        # a metric with one spec for every device (the default) needs no lookup per device
        by_metric: dict[str, list[AnomalyMetric]] = {}
        for m in config.metrics:
            by_metric.setdefault(m.metric, []).append(m)
        self._specs = {k: v[0] for k, v in by_metric.items()
                       if len(v) == 1 and v[0].device_class == ("", None, "any")}
        self._classes = {k: v for k, v in by_metric.items() if k not in self._specs}
        self._spec_of: dict[tuple[str, str, str | None], AnomalyMetric | None] = {}
        self._spec_at = registry.changes  # the registry _spec_of was worked out against
        # per-reading constants of the config, worked out once (the same floats)
        self._offset = config.utc_offset_h * HOUR
        self._floor_mad = config.scale_floor * MAD_TO_SIGMA
        self.series: dict[tuple[str, str], _Series] = {}
        self.metrics = frozenset(by_metric)

    def config_hash(self) -> str:
        return hash_of(self.config, self._days.config)

    def shard_key(self, event: Event) -> str | None:
        if not isinstance(event, Iot) or self._spec(event) is None:
            return None
        if not self.config.enabled:
            return None
        return self.registry.device_grid(event.device_id) or event.device_id

    def advance(self, watermark: float) -> list[Decision]:
        return []  # silence is device_offline's business

    def next_due(self) -> float:
        return math.inf

    def observe(self, event: Event) -> list[Decision]:
        if not isinstance(event, Iot) or not self.config.enabled:
            return []
        spec = self._specs.get(event.metric) or self._spec(event)
        if spec is None or not math.isfinite(event.value):
            return []
        key = (event.device_id, event.metric)
        s = self.series.get(key)
        if s is None:
            self.series[key] = _Series(last_t=event.t, first_t=event.t, still_t=event.t,
                                       active_t=event.t)
            return []
        if event.t <= s.last_t:
            return []
        dt, s.last_t = event.t - s.last_t, event.t
        if spec.reading == "delta" and event.value < 0:
            return []  # a meter reset or a correction: no amount to place
        hour = _hourly(s, spec, event.value, dt)
        if hour is None:
            return []  # part of an hour still being summed
        value, dt = hour
        rate = value * HOUR / dt if spec.reading == "delta" else value
        gap = s.n > 0 and dt > self.config.gap_factor * s.interval
        _learn_interval(s, dt)
        verdict = self._gap(s, spec, rate, event.t) if gap else self._judge(s, spec, rate,
                                                                          event.t, dt)
        verdict.value = value
        return self._decide(s, spec, event, verdict, gap)

    def _spec(self, ev: Iot) -> AnomalyMetric | None:
        """The spec of the most specific device class this reading belongs to, if any."""
        spec = self._specs.get(ev.metric)
        if spec is not None or ev.metric not in self._classes:
            return spec
        key = (ev.device_id, ev.metric, ev.unit)
        if self._spec_at != self.registry.changes:  # a device may have moved into a house
            self._spec_of.clear()
            self._spec_at = self.registry.changes
        if key not in self._spec_of:
            fits = [m for m in self._classes[ev.metric]
                    if ev.device_id.startswith(m.device_prefix)
                    and (m.unit is None or m.unit == ev.unit)
                    and m.placement in ("any", self._placement(ev.device_id))]
            self._spec_of[key] = max(fits, key=_specificity, default=None)
        return self._spec_of[key]

    def _placement(self, device_id: str) -> str:
        """``home`` or ``public`` for a registered device; an unknown one is neither
        (only ``any`` specs apply: it is judged as a household's, the cautious way)."""
        if device_id not in self.registry.devices:
            return "unknown"
        return "public" if self.registry.device_house(device_id) is None else "home"

    # ------------------------------------------------------------ tests
    def _judge(self, s: _Series, spec: AnomalyMetric, rate: float, t: float,
               dt: float) -> _Verdict:
        self._roll_day(s, spec, t)
        if rate < s.day_min:
            s.day_min = rate
        if rate > s.day_max:
            s.day_max = rate
        s.day_cover += dt
        a = 1.0 - math.exp(-dt / MEAN_TAU_S)
        s.mean = rate if s.n <= 1 else s.mean + a * (rate - s.mean)
        # what the still level reads (minimum, its spread, mean) is settled from here on
        still = self._still_level(s, spec)
        if rate > still:
            s.active_t = t
        v = _Verdict({}, {}, rate, still)
        v.u["continuous_flow"] = self._flow(s, spec, rate, t, still)
        v.start["continuous_flow"] = s.still_t
        warm = s.days >= self.config.warmup_days  # days of use learned: a flat left empty
        # since the meter was fitted has no baseline yet when its residents move in
        v.expected, v.z = self._seasonal(s, spec, rate, t, dt, warm)
        if spec.continuous_flow and rate > still >= v.expected and self._bins(t)[0] < NIGHT_END:
            s.night_flow = True  # flowing in a night hour that is usually still
        # a water rise is a leak once it flowed through a usually still night hour
        # (minimum-night-flow practice): a day at home or more residents use more by
        # day and evening, and still sleep. A fall (where watched) needs no such proof.
        unproved = spec.continuous_flow and not (s.night_flow and s.still_t <= s.cusum_t)
        if warm and (not unproved or s.cusum_dn > 0):
            v.u["level_shift"] = max(0.0 if unproved else s.cusum_up,
                                     s.cusum_dn) / self.config.cusum_h
            v.start["level_shift"] = s.cusum_t
        if warm:
            v.u["spike"], v.start["spike"] = self._spiking(s, spec, rate, t - dt)
        return v

    def _gap(self, s: _Series, spec: AnomalyMetric, rate: float, t: float) -> _Verdict:
        """After a gap only stillness is evidence; a flow run restarts unless a leak is open."""
        self._roll_day(s, spec, t)
        v = _Verdict({}, {}, rate, self._still_level(s, spec))
        if spec.continuous_flow and (rate <= v.still or s.open_start is None):
            s.still_t, s.run_min = t, math.inf
        v.u["continuous_flow"], v.start["continuous_flow"] = 0.0, s.still_t
        return v

    def _flow(self, s: _Series, spec: AnomalyMetric, rate: float, t: float,
              still: float) -> float:
        if not spec.continuous_flow or s.interval > MAX_FLOW_INTERVAL_S:
            s.still_t = t
            return 0.0
        if rate <= still:
            s.still_t, s.run_min, s.night_flow = t, math.inf, False
            return 0.0
        s.run_min = min(s.run_min, rate)
        if s.days < 1:
            return 0.0
        u = (t - s.still_t) / HOUR / self.config.flow_hours
        if u >= 1.0 and not self._whole_night(s.still_t, t):
            return 0.99  # no leak until a whole night flowed (see _whole_night)
        return u

    def _whole_night(self, since: float, t: float) -> bool:
        """Whether ``since`` … ``t`` holds a whole local night (0–6 h) without a still hour.

        Minimum-night-flow practice: a leak flows all night. A main or a building
        meter with a night floor is still for an hour or two a night, at times
        that wander, so its still hours may fall just over ``flow_hours`` apart;
        a whole night without one is the leak. (A household's run begun in the
        evening or by day has a whole night inside it by then anyway.)
        """
        night = math.ceil((since + self._offset) / DAY) * DAY - self._offset
        return night + NIGHT_END * HOUR <= t

    def _dormant(self, s: _Series, spec: AnomalyMetric, t: float) -> bool:
        """A day without use above the usual minimum: a household away, not a new normal.

        Not for a meter whose usual daily peak does not rise above its still level
        (a water main, a building: a base load with a gentle rhythm): it shows no
        use to go without, and its days are days of use like the others.
        """
        return (spec.reading == "delta" and spec.direction == "up"
                and t - s.active_t >= DORMANT_S
                and not (s.days and self._still_level(s, spec) >= _unspike(spec, s.peak)))

    def _still_level(self, s: _Series, spec: AnomalyMetric) -> float:
        spread = max(s.low_dev, LOW_SPREAD * s.low)  # a main's minimum wanders with its use
        margin = 3 * MAD_TO_SIGMA * spread + self.config.still_margin * s.mean
        return s.low + max(margin, spec.still_below)

    def _seasonal(self, s: _Series, spec: AnomalyMetric, rate: float, t: float, dt: float,
                  warm: bool) -> tuple[float, float]:
        """Score against the hour-of-day/day-type profile, then learn from the reading."""
        hour, b, twin = self._bins(t - dt / 2)
        prof, taught_bins = s.prof, s.taught
        taught = taught_bins[b]
        if not taught:  # the other day type's hour is the best first guess
            prof[b] = prof[twin] if taught_bins[twin] else rate - s.level
        expected = prof[b] + s.level
        floor = max(self._floor_mad * s.dev_all, spec.min_scale, 1e-9,
                    spec.peak_floor * _unspike(spec, s.peak) if s.days else 0.0)
        # a day type met for the first time borrows the other's profile: only a gross
        # departure from it counts, three times the scale the borrowed hour would have
        # (floors included: a commuter household home all its first Saturday is no shift)
        widen = UNTAUGHT_SCALE if taught < MIN_BIN_UPDATES else 1.0
        scale = max(MAD_TO_SIGMA * s.dev[hour], floor) * widen
        z = (rate - expected) / scale
        hours = min(dt / HOUR, 1.0)
        if warm:
            self._cusum(s, spec, z, t - dt, hours)
        # weekend bins see 2 days a week, weekday bins 5: same half-life in calendar days
        g = 1.0 - (1.0 - PROFILE_RATE) ** (hours * (2.5 if b >= 24 else 1.0))
        g = max(g, 1.0 / (taught + 1))  # a running mean until the EWMA takes over
        if self._dormant(s, spec, t):
            return expected, z  # nobody home: the return must be judged against the usual
        # Robust only once warm: a clipped scale estimator cannot grow out of a tiny start.
        bound = HUBER_C * scale if warm else math.inf
        step = max(-bound, min(bound, rate - expected))
        prof[b] += g * step
        taught_bins[b] = min(255, taught + 1)
        smooth = 1.0 - math.exp(-dt / LEVEL_TAU_S)  # (DEV_ALL_TAU_S is the same time constant)
        s.level = _toward(spec, s.level + smooth * step)
        clipped = min(abs(rate - expected), Z_CLIP * scale if warm else math.inf)
        dev = s.dev
        dev[hour] += g * (clipped - dev[hour])
        s.dev_all += smooth * (clipped - s.dev_all)
        return expected, z

    def _bins(self, t: float) -> tuple[int, int, int]:
        """Local hour, its working-day/rest-day profile bin, and the other day type's bin."""
        local = t + self._offset
        hour = int(local // HOUR) % 24
        rest = self._days.rest(int(local // DAY))
        return hour, hour + 24 * rest, hour + 24 * (not rest)

    def baseline(self, device_id: str, metric: str, t: float) -> tuple[float, float] | None:
        """Expected rate (or level) at ``t`` and the latest score: for plots and debugging."""
        s = self.series.get((device_id, metric))
        if s is None:
            return None
        _, b, twin = self._bins(t)
        if s.taught[b]:
            return float(s.prof[b]) + s.level, s.score
        return (float(s.prof[twin]) + s.level if s.taught[twin] else math.nan), s.score

    def _floor(self, s: _Series, spec: AnomalyMetric) -> float:
        span = _unspike(spec, s.peak) - s.low if s.days else 0.0
        return max(self.config.scale_floor * span, spec.min_scale, 1e-9)

    def _spike_floor(self, s: _Series, spec: AnomalyMetric) -> float:
        return LOG_FLOOR if spec.reading == "delta" else self._floor(s, spec)

    def _cusum(self, s: _Series, spec: AnomalyMetric, z: float, begin: float,
               weight: float) -> None:
        """Page's CUSUM, one step per hour of data: a 15-min meter is not 4× as jumpy."""
        zc, k = max(-Z_CLIP, min(Z_CLIP, z)), self.config.cusum_k
        cap = CUSUM_CAP * self.config.cusum_h
        idle = s.cusum_up == 0.0 and s.cusum_dn == 0.0
        if spec.direction != "down":
            s.cusum_up = min(cap, max(0.0, s.cusum_up + weight * (zc - k)))
        if spec.direction != "up":
            s.cusum_dn = min(cap, max(0.0, s.cusum_dn + weight * (-zc - k)))
        if idle and (s.cusum_up > 0 or s.cusum_dn > 0):
            s.cusum_t = begin  # Page's change-point estimate: where the sum left zero

    def _spiking(self, s: _Series, spec: AnomalyMetric, rate: float,
                 begin: float) -> tuple[float, float]:
        """The spike statistic, held under its limit until ``spike_readings`` in a row, or
        ``spike_gross`` limits past it: persistence tells a burst pipe from a bath filled
        once, but a reading twenty times anything the meter usually sees (a burst, or a
        glitch billing 40 m³ in an hour) needs no second one."""
        u = self._spike(s, spec, rate)
        if u < 1.0:
            s.spike_n = 0
            return u, begin
        s.spike_n += 1
        if s.spike_n == 1:
            s.spike_t = begin
        held = s.spike_n < spec.spike_readings and u < self.config.spike_gross
        return (min(u, 0.99) if held else u), s.spike_t

    def _spike(self, s: _Series, spec: AnomalyMetric, rate: float) -> float:
        """Upward spikes for all; downward ones only for levels (amounts dip by nature)."""
        mads = self.config.spike_mads
        u = 0.0
        if spec.direction != "down":
            spread = max(MAD_TO_SIGMA * s.peak_dev, self._spike_floor(s, spec))
            u = (_spike_scale(spec, rate) - s.peak) / (mads * spread)
        if spec.direction != "up" and spec.reading == "level":
            spread = max(MAD_TO_SIGMA * s.low_dev, self._floor(s, spec))
            u = max(u, (s.low - rate) / (mads * spread))
        return max(0.0, u)

    def _roll_day(self, s: _Series, spec: AnomalyMetric, t: float) -> None:
        """Close the local day when a reading falls in the next one: learn its minimum and peak."""
        day = int((t + self.config.utc_offset_h * HOUR) // DAY)
        if day == s.day:
            return
        used = s.day_max - s.day_min > spec.still_below  # an empty flat's day teaches nothing
        if s.day >= 0 and s.day_cover >= MIN_DAY_COVER * DAY and used and \
                not self._dormant(s, spec, t):
            self._learn_day(s, spec, t)
        s.day, s.day_min, s.day_max, s.day_cover = day, math.inf, -math.inf, 0.0

    def _learn_day(self, s: _Series, spec: AnomalyMetric, t: float) -> None:
        if s.days == 0:
            s.low, s.peak = s.day_min, _spike_scale(spec, s.day_max)
            s.still_t, s.run_min = t, math.inf  # judge stillness against the learned floor
        else:
            spread = max(MAD_TO_SIGMA * s.peak_dev, self._spike_floor(s, spec))
            cap = s.peak + self.config.spike_mads * spread
            top = min(_spike_scale(spec, s.day_max), cap)  # a spike must not become a peak
            s.peak_dev += DAY_RATE * (abs(top - s.peak) - s.peak_dev)
            s.peak += DAY_RATE * (top - s.peak)
            # a day that never came down to still flowed all day: a leak must not become
            # the usual minimum (a main still for an hour a night is learned as usual)
            leaking = spec.continuous_flow and s.still_t < s.day * DAY - self._offset
            if not leaking:
                # clipped like the profile: one odd day (a main shut for repairs, a burst)
                # moves the minimum and its spread by a bounded step, not for weeks
                spread = max(MAD_TO_SIGMA * s.low_dev, LOW_SPREAD * s.low, spec.still_below)
                step = max(-HUBER_C * spread, min(HUBER_C * spread, s.day_min - s.low))
                s.low_dev += DAY_RATE * (abs(step) - s.low_dev)
                s.low += DAY_RATE * step
        s.days += 1

    # ------------------------------------------------------------ verdicts
    def _decide(self, s: _Series, spec: AnomalyMetric, ev: Iot, v: _Verdict,
                gap: bool) -> list[Decision]:
        test = max(v.u, key=v.u.__getitem__)
        u = v.u[test]
        score = s.score = u / (1.0 + u)
        cfg = self.config
        if s.open_start is None:
            if gap or score < cfg.threshold:
                return []
            if test == "level_shift" and cfg.recurring and _recurs(s, v.start[test]):
                return []
            s.open_start, s.open_test = v.start[test], test
            s.severity = self._severity(score)
            return [self._emit(s, spec, ev, v, test, score, "firing")]
        still = spec.continuous_flow and v.rate <= v.still
        calm = score < cfg.clear and not gap
        if not calm:
            s.calm_t = 0.0
        elif s.open_test == "level_shift" and s.calm_t == 0.0:
            s.calm_t = ev.t
        if (calm and (s.open_test != "level_shift" or ev.t - s.calm_t >= CALM_S)) or (
                gap and still):  # a gap alone proves nothing
            decision = self._emit(s, spec, ev, v, s.open_test, score, "resolved")
            s.open_start, s.open_test, s.severity, s.calm_t = None, "", "", 0.0
            return [decision]
        severity = self._severity(score)
        if SEVERITY_RANK[severity] > SEVERITY_RANK[s.severity]:
            s.severity = severity
            return [self._emit(s, spec, ev, v, test, score, "firing")]
        return []

    def _severity(self, score: float) -> str:
        return "orange" if score >= self.config.orange_score else "yellow"

    def _emit(self, s: _Series, spec: AnomalyMetric, ev: Iot, v: _Verdict, test: str,
              score: float, status: str) -> Decision:
        assert s.open_start is not None
        per_hour = spec.reading == "delta"
        evidence: dict[str, Any] = {
            "metric": ev.metric, "test": test, "score": _r(score),
            "threshold": self.config.threshold, "value": v.value,
            "rate_per_h" if per_hour else "reading": _r(v.rate),
            "usual_daily_min": _r(s.low), "usual_daily_peak": _r(_unspike(spec, s.peak)),
            "event_id": ev.event_id,
        }
        if v.expected is not None and v.z is not None:
            evidence.update(expected=_r(v.expected), robust_z=_r(v.z),
                            cusum=_r(max(s.cusum_up, s.cusum_dn)))
        if spec.continuous_flow:
            evidence.update(hours_without_still=_r((ev.t - s.still_t) / HOUR),
                            still_level=_r(v.still))
            if math.isfinite(s.run_min):
                evidence["lowest_rate_in_run"] = _r(s.run_min)
        if ev.unit:
            evidence["unit"] = ev.unit
        return self.decision("sensor_anomaly", "device", ev.device_id, status,  # type: ignore[arg-type]
                             s.severity, s.open_start, ev.t, evidence,
                             self.registry.device_grid(ev.device_id))


def _recurs(s: _Series, start: float) -> bool:
    """Whether a level shift beginning at ``start`` continues a schedule: the two before
    it began a week, a fortnight or a month apart, and this one as far after the last,
    each at the same hour (±1 h). Every beginning asked about is remembered.

    Profiles learn the hour of the day and the day type; a load that runs on the 11th
    of every month or every other Saturday night is a fresh departure each time (a
    real household meter's monthly storage-heater cycle raised one episode a month).
    Its first two runs still fire: one repeat a month on at the same hour happens by
    chance (a water main's real loss began 30 days after the previous one, to the hour).

    >>> s = _Series(0.0, 0.0, 0.0, 0.0)
    >>> [_recurs(s, day * DAY + 1800) for day in (1, 31, 61, 75)]
    [False, False, True, False]
    """
    if start == s.skipped:
        return True  # the same beginning, asked again at the next reading
    shifts = s.shifts if s.shifts is not None else []
    hit = any(any(_period(last - first) == period for first in shifts[:k])
              for k, last in enumerate(shifts) if (period := _period(start - last)))
    if start not in shifts:
        s.shifts = [*shifts, start][-RECUR_KEEP:]
    if hit:
        s.skipped = start
    return hit


def _period(apart: float) -> int:
    """7 or 14 (days) for a weekly or fortnightly repeat at the same hour, 30 for a
    monthly one, 0 for none."""
    days = round(apart / DAY)
    if abs(apart - days * DAY) > RECUR_TOL_S:
        return 0
    if days in RECUR_WEEKS:
        return days
    return 30 if RECUR_MONTH[0] <= days <= RECUR_MONTH[1] else 0


def _specificity(spec: AnomalyMetric) -> tuple[int, bool, bool]:
    return len(spec.device_prefix), spec.unit is not None, spec.placement != "any"


def _hourly(s: _Series, spec: AnomalyMetric, value: float,
            dt: float) -> tuple[float, float] | None:
    """(value, seconds) to judge: the reading itself, or once sub-hourly readings cover
    about an hour, their sum (an amount) or time-weighted mean (a level); ``None`` while
    they do not yet. A longer reading after some short ones takes them in with it."""
    if dt >= HOURLY_S and not s.part_dt:
        return value, dt  # an hourly (or slower) meter: as it is
    s.part_v += value if spec.reading == "delta" else value * dt
    s.part_dt += dt
    if s.part_dt < HOURLY_S:
        return None
    total, span = s.part_v, s.part_dt
    s.part_v = s.part_dt = 0.0
    return (total if spec.reading == "delta" else total / span), span


def _learn_interval(s: _Series, dt: float) -> None:
    """Typical seconds between readings: a robust running mean (outliers clipped at 3×)."""
    if s.n == 0:
        s.interval = dt
    else:
        rate = max(INTERVAL_RATE, 1.0 / (s.n + 1))
        s.interval += rate * (min(dt, 3 * s.interval) - s.interval)
    s.n += 1


def _toward(spec: AnomalyMetric, level: float) -> float:
    """The level never moves against the watched direction: a week away (use down) must
    not lower the baseline that the return is then judged against."""
    if spec.direction == "up":
        return max(0.0, level)
    if spec.direction == "down":
        return min(0.0, level)
    return level


def _spike_scale(spec: AnomalyMetric, x: float) -> float:
    """The spike test's scale: log for amounts (offset by their resolution), as is for levels."""
    if spec.reading == "level":
        return x
    return math.log(max(x, 0.0) + max(spec.min_scale, 1e-6))


def _unspike(spec: AnomalyMetric, y: float) -> float:
    if spec.reading == "level":
        return y
    return math.exp(y) - max(spec.min_scale, 1e-6)


def _r(x: float) -> float:
    return float(f"{x:.4g}")
