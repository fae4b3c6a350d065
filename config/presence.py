"""Config of the presence family: stay_in, out_no_return, long_absent and no_usage.

Thresholds are per registry tag (``elderly_alone``, ``dementia``, …) and may be
overridden per grid; a person with several tags gets the most protective
combination (shortest hours, highest severity). Only tags with ``watch`` raise
alerts, and only watched people are tracked at all: an untagged resident who
travels for a week costs nothing and raises nothing.

The fixed hours are the *outer bound*. Where a home's own devices show the
person's life (one registered occupant, a water meter, door or motion sensor),
the detector learns the household's routine and alerts earlier, when the
silence is improbable for this household at this hour (see docs/presence.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from config.base import Section, local_offset
from config.sensor import Severity

SEVERITIES = ("blue", "yellow", "orange", "red")


class TagRule(Section):
    """What counts as too long for people with one tag; ``None`` = that kind is not judged."""

    watch: bool = Field(default=False, description="raise presence alerts for this tag")
    stay_in_hours: float | None = Field(default=None, gt=0, description="inside (last pass "
                                        "`in`) with no sign of life this long; the outer bound "
                                        "of the learned silence where home devices are "
                                        "attributable, a no-`out` rule where they are not")
    out_hours: float | None = Field(default=None, gt=0, description="outside (last pass `out`) "
                                    "with no return this long; the outer bound of the learned "
                                    "outing length")
    absent_hours: float | None = Field(default=None, gt=0, description="not seen anywhere (no "
                                       "pass, no attributable home activity) this long")
    absent_after_in: bool = Field(
        default=False, description="`absent_hours` counts after an `in` pass too: not seen "
        "anywhere, whichever way the last pass went (久未出现 as the contract defines it). "
        "For a grid whose people leave by exits no reader records (a gap in the fence), at "
        "the cost of an alert for everyone of the tag at home that long: off by default")
    severity: Severity = Field(default="yellow", description="severity of the first alert")
    orange_hours: float | None = Field(default=None, gt=0, description="silence (since the "
                                       "episode's start) that raises it to at least orange")
    red_hours: float | None = Field(default=None, gt=0, description="silence that raises it "
                                    "to red")


class TagOverride(Section):
    """A per-grid change to one tag's rule: fields left unset keep the city-wide value."""

    watch: bool | None = None
    stay_in_hours: float | None = Field(default=None, gt=0)
    out_hours: float | None = Field(default=None, gt=0)
    absent_hours: float | None = Field(default=None, gt=0)
    absent_after_in: bool | None = None
    severity: Severity | None = None
    orange_hours: float | None = Field(default=None, gt=0)
    red_hours: float | None = Field(default=None, gt=0)


def _default_tags() -> dict[str, TagRule]:
    # elderly_alone: Shanghai's home kit for elderly people living alone (智能水表、门磁、
    # 红外、烟感, Xinhua 2020-12-10) alarms when the door is not opened and no infrared
    # motion is seen for 24 h: that is our outer bound of a silent home; the learned
    # routine alerts within hours. Two days unseen away from home is a welfare check.
    # dementia: most people with dementia who wander are found within 1.6 km, and of
    # those not found within 24 h almost half died (Koester & Stooksbury 1995, Wilderness
    # Environ Med 6:34): the learned outing length alerts first, 8 h is the bound (a day
    # at a day-care centre, 日间照料, must not page), 24 h is red.
    # key_person: 重点人员 not seen for two days after an `out` (after an `in` too where a
    # grid sets absent_after_in: key persons who leave by a gap in the fence are inside by
    # the passes; counted after every `in`, thirteen simulated cities gave 14 such key
    # persons found for 72 false alarms, key persons home for two days). Not watched:
    # elderly, minor, disabled, whose rules apply when a grid watches them. elderly (not
    # alone) has no stay_in: the family is home with them and the home's devices are the
    # family's, so only passes could judge it, and staying in for two days is ordinary
    # (watched city-wide with a 48 h stay_in: 380-500 false episodes per simulated city in
    # three weeks; without it, none, and a vanished elderly resident is found at 72 h).
    return {
        "elderly_alone": TagRule(watch=True, stay_in_hours=24, absent_hours=48,
                                 severity="orange", red_hours=24),
        "dementia": TagRule(watch=True, out_hours=8, absent_hours=24, severity="orange",
                            red_hours=24),
        "key_person": TagRule(watch=True, absent_hours=48, severity="yellow", orange_hours=96),
        "elderly": TagRule(absent_hours=72, severity="yellow", orange_hours=72),
        "disabled": TagRule(stay_in_hours=48, absent_hours=72, severity="yellow",
                            orange_hours=72),
        "minor": TagRule(out_hours=24, absent_hours=48, severity="yellow", orange_hours=36),
    }


class NoUsageConfig(Section):
    """``no_usage`` (用水看护): a watched one-person household whose water stopped.

    Published rules: under 0.01 m³ in 12 h (Shenzhen Longgang, 深圳特区报 2021-12-17;
    Shanghai Changning, Xinhua 2020-12-10), under 0.01 m³ in 24 h (Taicang, 苏报 2024),
    under 8 L in 24 h (Ningbo Haishu, 宁波日报 2022-05-20). Our fixed rule is the 12 h
    one, counted in waking hours only, so a night's sleep never trips it; the
    learned routine alerts earlier when this household always has water running by
    now (a learned deadline falling at night is judged again by the morning's
    line). It waits while the resident is known to be out or in a stay_in.
    """

    enabled: bool = True
    tags: tuple[str, ...] = Field(default=("elderly_alone",), description="a one-person "
                                  "household whose resident has one of these tags is watched")
    volume_m3: float = Field(default=0.01, gt=0, description="less than this in the window is "
                             "no use (Shenzhen, Shanghai, Taicang: 0.01 m³)")
    window_hours: float = Field(default=12.0, gt=0, description="waking hours of the fixed "
                                "window (Shenzhen, Shanghai: 12 h)")
    use_min_m3: float = Field(default=0.001, gt=0, description="a reading at least this is a "
                              "use for the learned routine (1 L, a meter's usual resolution)")
    night_start_hour: int = Field(default=22, ge=0, le=23, description="hours from here to "
                                  "night_end_hour do not count toward the fixed window")
    night_end_hour: int = Field(default=6, ge=0, le=23)
    severity: Severity = "yellow"
    orange_hours: float = Field(default=24.0, gt=0, description="no water for a day (Taicang's "
                                "24 h rule) is orange")
    red_hours: float = Field(default=36.0, gt=0, description="a day and a half without water "
                             "is red")
    habit_share: float = Field(
        default=0.8, ge=0, le=1, description="a learned (early) no_usage waits until the "
        "silence has passed a clock hour in which this home's water runs on at least this "
        "share of days: the morning kettle missed, not an afternoon that is quiet now and "
        "then. 0 = off")
    supply_expected: float = Field(
        default=6.0, ge=0, description="the grid's water is off (a planned outage, a burst "
        "main) when its other watched homes, whose meters report and whose own habits would "
        "have run water this many times in the last supply_hours, ran none: a home's silence "
        "then says nothing of its resident, and it counts from the supply's return. None of "
        "6 expected uses comes by chance about once in 400 (e^-6; 3: 1 in 20, met once in "
        "a simulated city). 0 = off")
    supply_hours: float = Field(default=2.0, gt=0, description="the recent span the grid's "
                                "homes are judged over")


class PresenceConfig(Section):
    """Presence: ``stay_in`` 久居未出, ``out_no_return`` 久出未归, ``long_absent`` 久未出现.

    ``no_usage`` (用水看护) has its own section below.

    Learned routine (households whose home activity is attributable to the
    watched person): for each hour of the day, the longest recent silence of
    the home (and, for ``no_usage``, gap between water uses) that started
    then, fading per day. A silence is improbable when it outlasts that line
    times ``silence_factor`` plus ``silence_buffer_hours``; the alert fires
    then, never before ``silence_min_hours`` and never after the tag's fixed
    hours. Outings follow the same kind of line (the longest recent outing
    that started then or ran through that hour, times ``out_factor`` plus
    ``out_buffer_hours``).
    """

    enabled: bool = True
    tags: dict[str, TagRule] = Field(default_factory=_default_tags)
    grid_overrides: dict[str, dict[str, TagOverride]] = Field(
        default_factory=dict, description="grid id → tag → changed fields")
    activity_metrics: tuple[str, ...] = Field(default=("water", "door", "motion"),
                                              description="home readings that show someone "
                                              "is up (water: at least use_min_m3; others: ≥0.5)")
    power_active_kwh_per_h: float | None = Field(default=None, gt=0, description="power above "
                                                 "this rate also shows activity. Off: fridges, "
                                                 "heaters and water heaters draw power with "
                                                 "nobody moving, so power would hide a fall")
    learn: bool = True
    silence_factor: float = Field(default=2.0, ge=1, description="learned alert line: the "
                                  "longest recent silence that started at this hour of the "
                                  "day (±1 h) times this… (Cuddihy et al. 2007 learned such "
                                  "per-time-of-day inactivity lines from motion sensors)")
    silence_buffer_hours: float = Field(default=1.0, ge=0, description="…plus this: a margin "
                                        "over anything this household has done")
    silence_margin_max_hours: float = Field(default=3.0, ge=0, description="the factor's "
                                            "margin is at most this: a 10 h sleep gives a 14 h "
                                            "line, not 21 h, so the first morning without "
                                            "water or movement is found by mid-morning")
    silence_min_hours: float = Field(default=2.0, gt=0, description="no learned alert before "
                                     "this: a nap, a long bath. A home seen only through a "
                                     "water meter reading this seldom or less often (a daily "
                                     "NB-IoT meter; no motion sensor) is judged at its "
                                     "readings, not between them")
    history_days: float = Field(default=7.0, ge=0, description="days of a household's own "
                                "history before its lines are used (every weekday seen once); "
                                "the fixed hours until then")
    day_history_days: float = Field(default=3.0, ge=0, description="days of history before "
                                    "a home's activity and water lines judge a silence that "
                                    "begins and falls due in waking hours (a morning fall in the "
                                    "first week); nights, which vary more, wait for history_days")
    line_fade_per_day: float = Field(default=0.98, gt=0, le=1, description="lines shrink by "
                                     "this a day (half-life ~5 weeks), so a long silence of "
                                     "last season stops masking today's")
    liveness_metrics: tuple[str, ...] = Field(default=("heartbeat", "power"), description="home "
                                              "messages that show only that the devices and "
                                              "their gateway are alive, as a water reading of "
                                              "any value does (power: not activity, see "
                                              "power_active_kwh_per_h)")
    blind_hours: float = Field(default=2.5, gt=0, description="a home whose devices sent no "
                               "regular report (a water reading of any value, a heartbeat) for "
                               "longer than this was blind: its silence is not the person's. "
                               "A learned stay_in waits for a report at or after its deadline, "
                               "and after a blind spell for this long of reports again (meters "
                               "fold what they counted into their first reading back); the "
                               "fixed hours stay the outer bound")
    same_trip_minutes: float = Field(default=30.0, ge=0, description="passes in the same "
                                     "direction within this are one trip (door, building, "
                                     "community gate)")
    exit_grace_minutes: float = Field(default=5.0, ge=0, description="home activity reported "
                                      "this soon after an `out` pass is the leaving itself, not "
                                      "a return (a motion sensor's hold time, the door closing "
                                      "behind them)")
    accompanied_minutes: float = Field(
        default=3.0, ge=0, description="an `out` pass of a household member at the same gate "
        "within this of the watched person's own: they left together (a carer, the family), "
        "which is no wander, so no out_no_return for that outing (long_absent stays the "
        "bound). 0 turns it off")
    door_exit_minutes: float = Field(
        default=10.0, ge=0, description="a lone resident's home door opening that no pass of "
        "theirs explains (none within same_trip_minutes), after motion seen this soon before "
        "it and none since: they left by an exit no reader recorded (a side gate, an "
        "unrecognised face), so the home's own lines (learned and waking stay_in, learned "
        "no_usage) wait for them and the fixed hours stay the outer bound. Needs a motion "
        "sensor; 0 turns it off")
    motion_pair_minutes: float = Field(
        default=30.0, ge=0, description="a motion sensor's trigger shows the resident up "
        "and about only with another motion of the home within this: someone up sets a PIR "
        "off again within minutes, and within half an hour even when busy elsewhere (the "
        "kitchen, the toilet), while lone triggers further apart are someone lying still in "
        "its view (a fall the sensor still sees), a draught or a pet. 10 min also dropped "
        "the sparse motion of homes where the person is mostly out of view (falls found up "
        "to 1.5 h later). Judged per home once it has sent motion_pair_learn motions, and "
        "only in a home whose motions mostly come with others (a sensor that sends one "
        "summary an hour counts every one). 0 turns it off")
    motion_pair_learn: int = Field(default=50, ge=1, description="motions of a home before "
                                   "its lone ones are told apart")
    outing_habit_share: float = Field(
        default=1 / 3, gt=0, le=1, description="a silence at home begun within an hour of "
        "when the lone resident goes out on at least this share of days may be an outing "
        "whose `out` pass the readers missed (an unrecognised face, a tailgate): the learned "
        "stay_in then waits at least their outing line from that hour. Said of a resident "
        "whose exits go unrecorded at missed_exit_prior; one whose exits are missed more "
        "often waits at fewer such hours, one whose exits are never missed at more habitual "
        "ones only (the share needed scales with missed_exit_prior over their own rate)")
    missed_exit_prior: float = Field(
        default=0.05, gt=0, lt=1, description="share of a resident's exits the readers miss, "
        "before their own passes say (an `in` after an `in` is an exit missed): 2-12 % of "
        "faces go unrecognised at community gates, a few percent more leave by side gates; "
        "weighs as 20 outings")
    out_factor: float = Field(default=2.0, ge=1, description="alert line: longest recent "
                              "outing that started at (±1 h) or ran through this hour, "
                              "times this… (the same line as a home's silences)")
    out_buffer_hours: float = Field(default=1.0, ge=0, description="…plus this")
    out_min_hours: float = Field(default=4.0, gt=0, description="no learned out alert before "
                                 "this: half a day out (a morning, an afternoon) needs no "
                                 "precedent; a person's few short walks say little about "
                                 "their rare long ones")
    out_min_outings: int = Field(default=5, ge=1, description="outings seen before the line "
                                 "is used")
    no_usage: NoUsageConfig = Field(default_factory=NoUsageConfig)
    utc_offset_h: float = local_offset("hours of the day and week")

    @field_validator("tags", mode="before")
    @classmethod
    def _over_shipped_tags(cls, v: Any) -> Any:
        """A file names the tags and fields it changes; the rest keep their shipped rules.

        ``tags: {elderly: {watch: true}}`` watches ``elderly`` by its shipped hours and
        leaves ``elderly_alone``, ``dementia`` and ``key_person`` watched: read as the
        whole map, it silently stopped every welfare alert. A field set to null is not
        judged; a new tag starts from nothing set. A rule given as a ``TagRule`` (from
        code) is taken whole.
        """
        if not isinstance(v, dict):
            return v
        merged: dict[str, Any] = {name: rule.model_dump()
                                  for name, rule in _default_tags().items()}
        for name, rule in v.items():
            shipped = merged.get(name)
            merged[name] = {**shipped, **rule} if isinstance(rule, dict) and shipped else rule
        return merged

    @model_validator(mode="after")
    def _known_tags(self) -> PresenceConfig:
        for grid, tags in self.grid_overrides.items():
            unknown = sorted(set(tags) - set(self.tags))
            if unknown:
                raise ValueError(f"grid_overrides[{grid!r}]: no rule for tag {unknown[0]!r}; "
                                 f"known: {', '.join(sorted(self.tags))}")
        return self

    def rule(self, tag: str, grid: str | None) -> TagRule | None:
        """The rule of one tag in one grid (the city-wide rule plus the grid's changes)."""
        base = self.tags.get(tag)
        patch = self.grid_overrides.get(grid or "", {}).get(tag)
        if base is None or patch is None:
            return base
        return base.model_copy(update=patch.model_dump(exclude_none=True))
