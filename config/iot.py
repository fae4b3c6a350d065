"""Config of the IoT baselines: ``sensor_anomaly`` and ``device_offline``.

Every default names where it comes from. The statistical constants that are
not decisions (learning rates, the Huber clip) live in the detector modules.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Section, local_offset
from config.sensor import Severity


class AnomalyMetric(Section):
    """How one metric's readings are read by ``sensor_anomaly``.

    ``delta`` readings are amounts since the previous reading (the contract's
    ``water`` in m³ and ``power`` in kWh) and are turned into a rate per hour,
    so a missed reading does not look like a spike; ``level`` readings are
    states (a temperature) and are used as they are.
    """

    metric: str = Field(min_length=1)
    reading: Literal["delta", "level"] = "delta"
    direction: Literal["up", "down", "both"] = Field(
        default="up", description="which departures count; consumption falling to zero is "
        "no_usage's business, not a sensor anomaly")
    continuous_flow: bool = Field(
        default=False, description="run the smart-water-meter leak test: no still hour "
        "(use down to its usual night minimum) within `flow_hours`")
    min_scale: float = Field(
        default=0.0, ge=0, description="smallest residual scale, in the metric's unit per hour "
        "(delta) or unit (level): resolution below which a change is not a departure")
    spike_readings: int = Field(
        default=1, ge=1, description="readings in a row past the spike limit before it counts")
    peak_floor: float = Field(
        default=0.0, ge=0, description="the residual scale is at least this share of the usual "
        "daily peak: departures must be material for the household, not only for its quietest "
        "hour (0.25: a gross, 4σ departure adds a whole usual peak)")
    still_below: float = Field(
        default=0.0, ge=0, description="use per hour up to this above the usual minimum is "
        "still: no leak for the continuous-flow test, nobody home for dormancy (a flush in a "
        "night hour; a fridge cycling in an empty flat)")
    device_prefix: str = Field(default="", description="device class: only devices whose id "
                               "starts with this. Of the specs for a reading's metric, only the "
                               "most specific class it belongs to applies (longest prefix, then "
                               "unit, then placement), as for threshold rules")
    unit: str | None = Field(default=None, description="device class by unit: only readings "
                             "in this unit; none = any unit")
    placement: Literal["any", "home", "public"] = Field(
        default="any", description="device class by place: `home` = devices of a house in the "
        "registry, `public` = registered devices of no house (a main, a building, a public "
        "place); a device missing from the registry is neither")

    @property
    def device_class(self) -> tuple[str, str | None, str]:
        return self.device_prefix, self.unit, self.placement

    @model_validator(mode="after")
    def _flow_needs_amounts(self) -> AnomalyMetric:
        if self.continuous_flow and self.reading != "delta":
            raise ValueError(f"continuous_flow needs reading 'delta' (amounts per reading), "
                             f"got {self.reading!r} for metric {self.metric!r}")
        return self


def _anomaly_metrics() -> list[AnomalyMetric]:
    # Resolution floors: household meters resolve 1 L (0.001 m³) and 0.01 kWh;
    # we ignore departures below 5 L/h and 50 W. An hour with at most one
    # toilet flush (6 L, GB 25502; + 1 L of register rounding) is still: a big
    # family flushes every night hour now and then, a leak flows in all of them.
    # (AquaCUE's threshold is 1 US gallon, 3.8 L/h; Kamstrup's is no flow.)
    # A water spike must last two reads: Kamstrup's "Burst" code wants high
    # flow for ≥ 30 min, and an hour of bath and laundry is one read; a power
    # spike (a faulty heater, a short) counts at once. Power departures must be
    # material: a household's afternoon at home moves it by 2–3σ of its
    # quietest hours, a heater left on by a whole usual daily peak; 200 W above
    # the base load is somebody at home, a fridge cycling is not. A public water
    # meter (a main, a building, a public place: no house in the registry) is
    # watched both ways: a home's water falling to nothing is no_usage's
    # business, a main's falling to a fraction is a burst or a shut valve
    # upstream (the three "low value moments" of river's real WaterFlow series).
    water = AnomalyMetric(metric="water", continuous_flow=True, min_scale=0.005,
                          spike_readings=2, still_below=0.007)
    return [
        water,
        water.model_copy(update={"placement": "public", "direction": "both"}),
        AnomalyMetric(metric="power", min_scale=0.05, peak_floor=0.25, still_below=0.2),
    ]


class SensorAnomalyConfig(Section):
    """``sensor_anomaly``: per device, a seasonal robust baseline and a continuous-flow test.

    The score in the evidence is ``u / (1 + u)``, where ``u`` is the strongest
    test's statistic in units of its own limit (``u = 1`` at the limit), so the
    default ``threshold`` of 0.5 fires exactly when one test reaches its limit.
    """

    enabled: bool = True
    metrics: list[AnomalyMetric] = Field(default_factory=_anomaly_metrics)
    threshold: float = Field(default=0.5, gt=0, lt=1,
                             description="score that opens an episode (u = 1: a test at its limit)")
    clear: float = Field(default=0.3, gt=0, lt=1, description="score below which it resolves "
                         "(hysteresis: u < 0.43, well inside the limit)")
    orange_score: float = Field(default=0.8, gt=0, le=1,
                                description="score that escalates to orange (u = 4)")
    warmup_days: int = Field(
        default=3, ge=1, description="days of use (dormant days do not count) learned before "
        "seasonal departures are judged: three readings per hour of the day. The weekly season "
        "is not waited for: a day type met for the first time is judged by the other's profile "
        "at three times the scale")
    flow_hours: float = Field(
        default=24.0, gt=0, description="continuous-flow leak test: hours without a still hour. "
        "Kamstrup's 'Leak' info code and AquaCUE's leak alert both use 24 h")
    still_margin: float = Field(
        default=0.05, ge=0, description="a reading is still when at most its usual daily "
        "minimum plus this fraction of its mean rate (meters use exactly zero flow; this "
        "tolerates rounding)")
    cusum_k: float = Field(
        default=2.0, ge=0, description="CUSUM allowance in robust σ: half the 4σ sustained shift "
        "it is tuned to (Page 1954; Hawkins & Olwell 1998). A household's use wanders by 2–3σ "
        "for hours when its routine changes; a leak or a heater left on is far beyond")
    cusum_h: float = Field(
        default=10.0, gt=0, description="CUSUM decision limit in robust σ·hours. z is clipped at "
        "5, so one outlier adds at most 3 and it takes ≥ 4 hours of gross departure; the "
        "textbook h = 4–5 (Montgomery) is for one chart, a city runs a million")
    spike_mads: float = Field(
        default=6.0, gt=0, description="spike test: robust deviations above the device's usual "
        "daily peak, on log scale for amounts (≥ 4.5× the usual peak). A Hampel identifier "
        "(Pearson 2002) with 6 instead of 3 for the same reason as cusum_h")
    spike_gross: float = Field(
        default=2.0, ge=1, description="a reading this many spike limits past the usual peak "
        "counts at once, without `spike_readings` in a row: on log scale twice the limit is "
        "≥ 20× the usual daily peak (a household water meter's 0.08 m³ hour → 1.6 m³), a burst "
        "or a meter glitch, while a bath filled once stays under the limit itself")
    scale_floor: float = Field(
        default=0.25, ge=0, description="an hour's residual scale is at least this fraction of "
        "the device's all-hours scale: a few still nights must not make every use a departure")
    gap_factor: float = Field(
        default=2.5, gt=1, description="a reading more than this many usual intervals after the "
        "previous one closes a gap: it is not learned from or scored")
    recurring: bool = Field(
        default=True, description="a level shift that begins at the local hour (±1 h) at which "
        "the two before it began, 7 or 14 days or a month (27-32 days) apart, continues a "
        "scheduled load the hour-of-day profile cannot learn (a monthly heater or boiler cycle, "
        "a weekly wash): not opened. The first two of a series fire; false to open every one")
    utc_offset_h: float = local_offset("hour-of-day and weekend bins")

    @model_validator(mode="after")
    def _one_spec_per_class(self) -> SensorAnomalyConfig:
        seen: set[tuple[str, tuple[str, str | None, str]]] = set()
        for m in self.metrics:
            key = (m.metric, m.device_class)
            if key in seen:
                raise ValueError(f"two specs for metric {m.metric!r} and the same device class "
                                 f"(device_prefix {m.device_prefix!r}, unit {m.unit!r}, "
                                 f"placement {m.placement!r}): say which one applies")
            seen.add(key)
        return self

    @model_validator(mode="after")
    def _clear_below_threshold(self) -> SensorAnomalyConfig:
        if self.clear >= self.threshold:
            raise ValueError(f"clear ({self.clear}) must be below threshold ({self.threshold}) "
                             "or a hovering score flaps")
        return self


class DeviceOfflineConfig(Section):
    """``device_offline``: silence past a multiple of each device's learned reporting interval."""

    enabled: bool = True
    factor: float = Field(
        default=3.5, gt=1, description="least silence, in learned intervals, before a device is "
        "offline: three reports missed plus half an interval of jitter (Kubernetes marks a node "
        "unreachable after 4 missed status intervals, 40 s / 10 s)")
    max_false_rate: float = Field(
        default=1e-6, gt=0, le=1, description="chance that lost reports alone silence a working "
        "device up to its deadline; a clock losing more than 1 % of its reports gets a longer "
        "deadline (10 % loss: 6.5 intervals). 1 = off. After Hayashibara's φ accrual failure "
        "detector, which also sets the deadline from the observed arrivals")
    min_silence_s: float = Field(default=900.0, ge=0,
                                 description="never call a device offline sooner than this")
    min_reports: int = Field(default=6, ge=2,
                             description="inter-arrivals learned before a clock is judged")
    early_reports: int = Field(
        default=3, ge=2, description="fewer inter-arrivals do, this many or more (over "
        "`min_history_s`), when each is within `early_tolerance` of the interval: a heartbeat "
        "keeps exact time, and a daily one needs six days for `min_reports`, so a smoke "
        "detector dead on its fourth day was never judged (silent for good, no alert)")
    early_tolerance: float = Field(
        default=0.05, gt=0, lt=1, description="share of the interval an early inter-arrival "
        "may be off by: clocks, not people (event-driven arrivals differ by far more)")
    min_history_s: float = Field(default=86400.0, ge=0, description="and a day of them: the "
                                 "readings of one alarm are not a reporting schedule")
    max_irregularity: float = Field(
        default=0.2, gt=0, description="mean distance of inter-arrivals from the interval "
        "(or its nearest multiple when reports were lost), over it, below which a clock is "
        "periodic: 0.04–0.08 for meters even losing 30 % of their reports, ≥ 0.3 for Poisson "
        "(event-driven) arrivals")
    same_report_s: float = Field(
        default=60.0, ge=0, description="messages this close to the previous one are one report "
        "(a multi-metric device sends its readings together)")
    heartbeat_metric: str = "heartbeat"
    event_metrics: list[str] = Field(
        default_factory=lambda: ["door", "motion"], description="metrics that report on use by "
        "definition (contract): their arrivals never set a clock, only heartbeats do")
    use_metrics: list[str] = Field(
        default_factory=lambda: ["water"], description="amounts used since the previous reading "
        "(contract) that are zero in idle hours: a meter of these that never read zero while "
        "missing many of its slots reports only on use, and only its heartbeat judges it")
    safety_metrics: list[str] = Field(default_factory=lambda: ["smoke", "gas"],
                                      description="devices carrying these get safety_severity")
    severity: Severity = "blue"
    safety_severity: Severity = Field(default="yellow",
                                      description="a silent smoke or gas detector protects nobody")
    group_delay_s: float = Field(
        default=600.0, ge=0, description="after a device of a building falls due, wait this long "
        "for others before deciding between one building finding and single devices "
        "(Alertmanager's group_wait, scaled to meter cadences)")
    building_min_devices: int = Field(default=3, ge=2,
                                      description="silent devices that make a building outage")
    building_fraction: float = Field(
        default=0.5, gt=0, le=1, description="share of the building's devices with a verdict "
        "(silent, or heard since the outage began) that must be silent")
    building_severity: Severity = "orange"
    quiet_hours: bool = Field(
        default=True, description="learn the hours of the day a device falls silent by itself: "
        "a silence of at least three intervals that began within an hour of the same local hour "
        "on two occasions, and ended with the device speaking again, may recur that long times "
        "quiet_margin before the device is offline (a meter that reports only when water runs "
        "sleeps through every night; a gateway that powers down at night)")
    quiet_margin: float = Field(
        default=2.0, ge=1, description="how much longer than the shorter of the two longest such "
        "silences a quiet spell may run: a report-on-use meter's nightly gaps ran 1.5-5.25 h "
        "over three weeks, the second-longest of its first week ~2.5 h (measured); the same "
        "doubling as presence's learned lines (Cuddihy et al. 2007)")
    quiet_max_h: float = Field(
        default=12.0, gt=0, le=40, description="the longest silence a habit excuses, and the "
        "longest that teaches one: a night's sleep (early sleepers: 21:00-07:00 is 10 h). A data "
        "logger that lost 16-23 h on three evenings running (river's WaterFlow) is not asleep")
    healing_rate: float = Field(
        default=0.1, ge=0, description="silences this fleet's devices end by themselves "
        "(past their own deadline, back within quiet_max_h), per device seen and month, from "
        "which such silences are the network's habit rather than faults: an NB-IoT cell's "
        "coverage gaps, a Zigbee gateway unplugged for the afternoon. From that rate on a "
        "device is offline only past the silence healing_quantile of them ended within, so "
        "a fleet that blips for hours every fortnight does not send a work order per blip, "
        "and one whose silences are rare faults is judged by its own intervals. 0 = off")
    healing_quantile: float = Field(default=0.95, gt=0, le=1,
                                    description="the share of healed silences that end "
                                    "before a device is offline, once healing_rate is reached")
    utc_offset_h: float = local_offset("the quiet hours")
