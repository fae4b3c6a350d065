"""Config of the pattern detectors: unusual_hours, crowd, group_rental, event_cluster.

Every default names where it comes from. Where no published figure exists the
description says so and gives the reasoning instead; the quality figures
behind the choices are in docs/patterns.md.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from config.base import Section, local_offset
from config.sensor import Severity


class UnusualHoursConfig(Section):
    """``unusual_hours`` (昼伏夜出): a person active, night after night, when they usually sleep.

    The *quiet night hours* of a person are hours of the night window rare in
    their 24-hour profile (own history, with the grid population as a weak
    prior) and in their grid population's, as are ``quiet_before_h`` hours
    before and ``quiet_after_h`` after: the core of their usual sleep, when
    their city sleeps too. A *night day* has a pass in one. The alert needs
    ``min_night_days`` of them in the last ``window_days``, improbable at the
    person's own rate of such days (binomial tail ≤ ``alpha``), and a night
    share of passes above the usual one. A night-shift worker's nights are
    busy hours of their profile, so they never count; one late night is one
    day.
    """

    enabled: bool = True
    night_start_hour: int = Field(default=20, ge=0, le=23, description="night window start "
                                  "(local hour): the default of one deployed platform")
    night_end_hour: int = Field(default=8, ge=0, le=23, description="night window end (local "
                                "hour, exclusive); also where a day begins, so a night is never "
                                "cut in two")
    window_days: int = Field(default=7, ge=2, le=28, description="recent window judged against "
                             "history: the deployed platform's 7 days")
    min_night_days: int = Field(default=3, ge=1, description="night days in the window before "
                                "it is a pattern: one late night is not one")
    rare_hour_share: float = Field(default=0.02, gt=0, lt=1, description="an hour holding under "
                                   "this share of passes is rare (uniform would be 1/24 ≈ 0.042)")
    quiet_before_h: int = Field(default=2, ge=0, le=6, description="a night hour is quiet when "
                                "it is rare for the person and for their grid's population, and "
                                "so are this many hours before it: an evening out often runs an "
                                "hour or two past one's usual last pass")
    quiet_after_h: int = Field(default=1, ge=0, le=6, description="and this many hours after "
                               "it: mornings are set by routine, an hour early is already odd")
    alpha: float = Field(default=0.01, gt=0, lt=1, description="binomial tail probability of "
                         "that many night days at the person's own rate: with a clean history "
                         "(rate ~0.06) three nights in a week pass it, two do not")
    min_passes: int = Field(default=6, ge=1, description="least passes in the window (support)")
    min_history_days: int = Field(default=5, ge=1, description="active days of own history "
                                  "before a person is judged; key persons with less are judged "
                                  "against their grid's population")
    population_weight_days: float = Field(default=3.0, ge=0, description="the grid population's "
                                          "profile and rates enter a person's history as this "
                                          "many days: a weak prior, soon outweighed")
    half_life_days: float = Field(default=28.0, gt=0, description="memory of the 24-hour "
                                  "profile: about a month, so a new job is learned within weeks")
    severity: Severity = "yellow"
    key_person_severity: Severity = "orange"
    utc_offset_h: float = local_offset()

    @model_validator(mode="after")
    def _night_is_a_window(self) -> UnusualHoursConfig:
        if self.night_start_hour == self.night_end_hour:
            raise ValueError("night_start_hour and night_end_hour must differ")
        if self.min_night_days > self.window_days:
            raise ValueError(f"min_night_days ({self.min_night_days}) cannot exceed "
                             f"window_days ({self.window_days})")
        return self


class CrowdConfig(Section):
    """``crowd`` (人员聚集): distinct people through a gate, or a grid's gates, in a window.

    Baseline per place: the window count's mean and variance for each local
    hour of weekdays and of weekends (the day types of standard load
    profiles), learned online at every window boundary, times a *level* that
    follows the last hour or two. The test is a negative-binomial upper tail
    (Noufaily et al. 2013, the improved Farrington outbreak detector, which
    also does not learn from alarmed periods) plus ``min_count`` and ``factor``.
    """

    enabled: bool = True
    window_minutes: float = Field(default=15.0, gt=0, le=240, description="sliding window; "
                                  "also the tumbling step that teaches the baseline")
    min_count: int = Field(default=12, ge=1, description="least distinct people (plus "
                           "unrecognised passes) in the window for any alert")
    factor: float = Field(default=3.0, ge=1, description="least ratio to the expected count: "
                          "'far more', not merely unusual")
    tail_p: float = Field(default=1e-5, gt=0, lt=1, description="negative-binomial tail "
                          "probability that opens an episode. A city tests ~10^5 place-windows "
                          "a day and counts arriving in groups are fat-tailed, so far below the "
                          "1 % of outbreak detection, which tests a few series a week")
    clear_p: float = Field(default=0.05, gt=0, lt=1, description="a count is back at the "
                           "baseline below its 95 % quantile (or min_count)")
    min_dispersion: float = Field(default=0.1, ge=0, description="least NB overdispersion φ "
                                  "(variance = μ + φμ²): counts of people arriving together "
                                  "are never Poisson, and a few samples underestimate it")
    min_variance_ratio: float = Field(default=2.0, ge=1, description="a count's variance is at "
                                      "least this multiple of its mean: people pass in "
                                      "households and groups (most walk in groups, Moussaïd "
                                      "et al. 2010), which doubles the variance of independent "
                                      "arrivals (the quasi-Poisson floor of Farrington et al. "
                                      "1996); it binds at quiet places")
    half_life_days: float = Field(default=14.0, gt=0, description="memory of the hour bins, in "
                                  "days of samples")
    level_half_life_minutes: float = Field(default=60.0, gt=0, description="the level follows a "
                                           "rise building over hours (a festival, a market "
                                           "day), so what is flagged is a surge, not a busy day")
    level_max: float = Field(default=4.0, ge=1, description="the level never explains more than "
                             "this many times the usual count")
    warmup_days: float = Field(default=2.0, ge=0, description="history a place needs before it "
                               "is judged")
    min_bin_days: float = Field(default=1.0, gt=0, description="days of samples an hour bin "
                                "needs before that hour is judged (a weekend hour: one weekend "
                                "day)")
    learn_delay_minutes: float = Field(default=30.0, ge=0, description="a window's counts teach "
                                       "the baseline this much later, and never if an episode "
                                       "opens meanwhile: a crowd building up must not raise "
                                       "its own bar")
    resolve_after_minutes: float = Field(default=60.0, ge=0, description="counts must stay back "
                                         "at the baseline this long before the episode "
                                         "resolves: people leaving a gathering an hour or two "
                                         "later are the same gathering")
    grid_level: bool = Field(default=True, description="also count across each grid's community "
                             "and building gates: a gathering entering by several gates")
    include_home_doors: bool = Field(default=False, description="count a home's own door as a "
                                     "place: off, its traffic is group_rental's business")
    max_window_passes: int = Field(default=20_000, ge=100, description="bound on the passes a "
                                   "window holds; beyond it the count saturates")
    severity: Severity = "yellow"
    orange_factor: float = Field(default=2.0, ge=1, description="count at this multiple of the "
                                 "firing limit escalates to orange")
    red_factor: float = Field(default=4.0, ge=1, description="and to red")
    utc_offset_h: float = local_offset()


class GroupRentalConfig(Section):
    """``group_rental`` (群租): far more regular users of a home's own door than registered.

    A *regular user* is an id seen at the door on ``min_days_seen`` distinct
    days of the last ``window_days`` (a visitor comes once or twice). The
    house fires when regular users exceed its registered occupants by
    ``min_extra`` and that many are not registered there. Water or power use
    ``usage_factor`` times the norm for households of that registered size in
    the grid corroborates: then ``corroborated_days_seen`` days make a regular
    user, and the severity is ``corroborated_severity``.
    """

    enabled: bool = True
    window_days: int = Field(default=14, ge=3, le=60, description="days of door passes "
                             "remembered per id")
    min_days_seen: int = Field(default=3, ge=1, description="distinct days that make an id a "
                               "regular user on the door's evidence alone (at most two visits "
                               "a fortnight is a visitor)")
    corroborated_days_seen: int = Field(default=2, ge=1, description="the same when water or "
                                        "power corroborates: two days of use is enough")
    min_extra: int = Field(default=3, ge=1, description="regular users beyond the registered "
                           "occupants, and regular users not registered here, that make group "
                           "renting: two can be parents or a nanny. Shanghai's rule of at most "
                           "2 people per room puts a flat's legal load ~2 above its family")
    clear_extra: int = Field(default=1, ge=0, description="resolved when at most this many "
                             "extra regular users remain (hysteresis)")
    usage_factor: float = Field(default=2.0, gt=1, description="water or power per registered "
                                "occupant at this multiple of the norm for similar households "
                                "corroborates (orange)")
    usage_min_house_days: float = Field(default=15.0, ge=1, description="house-days (decayed) a "
                                        "household size needs in a grid before it has its own "
                                        "norm, e.g. five houses for three days; until then the "
                                        "grid's norm per occupant, scaled by size^0.7 "
                                        "(household economies of scale)")
    usage_half_life_days: float = Field(default=14.0, gt=0, description="memory of the grid's "
                                        "norms of daily use")
    usage_recent_half_life_days: float = Field(default=2.0, gt=0, description="memory of a "
                                               "house's own daily use: a sublet shows within "
                                               "days")
    max_ids: int = Field(default=64, ge=4, description="ids remembered per house (bounded "
                         "state); the least recently seen are dropped first")
    day_start_hour: int = Field(default=4, ge=0, le=23, description="local hour a day begins: "
                                "people come home after midnight")
    severity: Severity = "yellow"
    corroborated_severity: Severity = "orange"
    utc_offset_h: float = local_offset()

    @model_validator(mode="after")
    def _clear_below_fire(self) -> GroupRentalConfig:
        if self.clear_extra >= self.min_extra:
            raise ValueError(f"clear_extra ({self.clear_extra}) must be below min_extra "
                             f"({self.min_extra}) or a borderline house flaps")
        if self.min_days_seen > self.window_days:
            raise ValueError("min_days_seen cannot exceed window_days")
        return self


class AlarmRule(Section):
    """A sensor reading that counts as an incident report for clustering."""

    metric: str = Field(min_length=1)
    limit: float = Field(description="value at or above which the reading is an alarm")


def _alarm_rules() -> list[AlarmRule]:
    # The alarm levels of sensor_threshold's defaults: a smoke alarm is 1; household gas
    # detectors (GB 15322.2) alarm by 20 %LEL.
    return [AlarmRule(metric="smoke", limit=0.5), AlarmRule(metric="gas", limit=20.0)]


class EventClusterConfig(Section):
    """``event_cluster`` (事件聚集): reports and alarms close in space and time, per grid.

    ST-DBSCAN (Birant & Kut 2007): two points are neighbours when within
    ``eps_m`` metres *and* ``eps_minutes``; a cluster needs a point with
    ``min_samples`` neighbours (itself included). One episode per grid while
    it has a live cluster; it resolves once no point can join any more.
    """

    enabled: bool = True
    eps_m: float = Field(default=250.0, gt=0, description="spatial radius: one happening is "
                         "seen and reported from around it, a block or two; phone positions are "
                         "good to ~10–50 m")
    eps_minutes: float = Field(default=60.0, gt=0, description="temporal radius; also the "
                               "quiet time after the last member that resolves the episode")
    min_samples: int = Field(default=4, ge=2, description="DBSCAN min_samples (the point "
                             "itself included): dimensions + 1 for (position, time), the least "
                             "Ester et al. 1996 and Schubert et al. 2017 recommend")
    min_sources: int = Field(default=3, ge=1, description="distinct sources (reporter ids, "
                             "devices; reports without a reporter count singly) a cluster needs: "
                             "one citizen filing three reports is not three")
    alarms: list[AlarmRule] = Field(default_factory=_alarm_rules)
    severity: Severity = "yellow"
    orange_members: int = Field(default=6, ge=1, description="members (or any sensor alarm "
                                "among ≥ min_sources) that escalate to orange")
    red_members: int = Field(default=12, ge=1, description="members that escalate to red")
    max_points_per_grid: int = Field(default=2000, ge=10, description="bound on live points per "
                                     "grid; beyond it new points are counted but not clustered")
