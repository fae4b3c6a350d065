"""Config of the alert side: repeats, inhibition, silences, routes and notification sinks.

Split as Prometheus Alertmanager splits it (dispatch / inhibit / silence /
notify), each piece with its own section. Every rule is matched against the
same *labels* of an alert (:data:`LABELS`), derived from the alert and the
registry by :func:`sinks.labels.alert_labels`, so an operator learns one
vocabulary for inhibition rules, routes, sink filters and silences.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from config.base import Section
from gridwatch.contract import AlertKind, Severity

SubjectType = Literal["person", "house", "device", "gate", "grid", "building"]
Level = Literal["community", "street", "district", "city"]
HOUR = 3600.0

#: Label names every matcher may use. ``house``/``building`` are where the subject
#: lives or sits (a person's home, a device's house), looked up in the registry.
LABELS: tuple[str, ...] = (
    "kind", "severity", "status", "subject_type", "subject_id", "grid_id", "community_id",
    "street_id", "district_id", "city_id", "house", "building",
)


def check_label_names(names: list[str] | tuple[str, ...], what: str) -> None:
    """Refuse unknown label names with the list of known ones (typos must not match nothing)."""
    unknown = [n for n in names if n not in LABELS]
    if unknown:
        raise ValueError(f"{what}: unknown label {unknown[0]!r}; known labels: "
                         + ", ".join(LABELS))


class Match(Section):
    """Which alerts a rule applies to; an empty field matches anything.

    ``labels`` are exact values of further labels, e.g. ``{street_id: s-1}``.
    """

    kinds: tuple[AlertKind, ...] = ()
    severities: tuple[Severity, ...] = ()
    subject_types: tuple[SubjectType, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, v: dict[str, str]) -> dict[str, str]:
        check_label_names(tuple(v), "labels")
        return v


class InhibitRule(Section):
    """While a *firing* alert matches ``source``, updates matching ``target`` are muted
    if they share the value of every label in ``equal`` (e.g. the same house).

    Inhibition is evaluated per work partition, i.e. per grid: use ``equal``
    labels at or below the grid (``house``, ``building``, ``grid_id``,
    ``subject_id``) so that source and target always meet on one partition.
    """

    name: str = Field(min_length=1)
    source: Match
    target: Match
    equal: tuple[str, ...] = Field(min_length=1, description="labels that must be equal "
                                   "(and set) on source and target")

    @field_validator("equal")
    @classmethod
    def _known_equal(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        check_label_names(v, "equal")
        return v


class Route(Section):
    """Also notify these levels of the grid hierarchy for matching alerts.

    Every alert goes to its grid worker and police (the ``assignee``); a route
    adds the centre of the alert's community, street, district or city.
    """

    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    notify: tuple[Level, ...] = Field(min_length=1)


class Retry(Section):
    """Exponential backoff for recoverable delivery failures, then the dead letter."""

    max_attempts: int = Field(default=8, ge=1)
    initial_backoff_s: float = Field(default=0.5, gt=0)
    max_backoff_s: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    give_up_after_s: float = Field(default=300.0, gt=0, description="stop retrying a "
                                   "delivery this long after its first attempt")

    @model_validator(mode="after")
    def _bounds(self) -> Retry:
        if self.max_backoff_s < self.initial_backoff_s:
            raise ValueError(f"max_backoff_s ({self.max_backoff_s}) cannot be below "
                             f"initial_backoff_s ({self.initial_backoff_s})")
        return self


class SinkBase(Section):
    """What every sink shares: a name (its consumer group), a filter and retries."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    match: Match = Field(default_factory=Match)
    routed_to: tuple[Level, ...] = Field(default=(), description="only alerts routed to one "
                                         "of these levels (e.g. street: the street centre)")
    retry: Retry = Field(default_factory=Retry)
    batch_max: int = Field(default=20, ge=1, description="alerts of one grid per delivery")


class WebhookSink(SinkBase):
    """HTTP POST of ``{"receiver", "grid_id", "alerts": […]}`` to ``url``."""

    url: str = Field(pattern=r"^https?://")
    timeout_s: float = Field(default=10.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)


class FileSink(SinkBase):
    """One alert per line appended to a JSONL file (an archive, or a feed for tools)."""

    path: str = Field(min_length=1)
    fsync: bool = True


class NotifySettings(Section):
    """The ``gridwatch notify`` stage: one consumer group per sink on ``gw.alerts``."""

    webhooks: tuple[WebhookSink, ...] = ()
    files: tuple[FileSink, ...] = ()
    group_prefix: str = Field(default="gridwatch-notify", min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> NotifySettings:
        names = [s.name for s in (*self.webhooks, *self.files)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"sink names must be unique (each is a consumer group): {dup[0]!r}")
        return self


class SilenceSettings(Section):
    """Limits on silences: they must say why, and cannot mute forever."""

    max_duration_s: float = Field(default=90 * 24 * HOUR, gt=0)
    require_reason: bool = True


def _default_inhibit() -> tuple[InhibitRule, ...]:
    # A red stay_in already sends someone to the door: no_usage of that home adds nothing.
    stay_in = InhibitRule(name="stay_in-red-covers-no_usage",
                          source=Match(kinds=("stay_in",), severities=("red",)),
                          target=Match(kinds=("no_usage",)), equal=("house",))
    # The resident is known to be away: no water used at home is expected.
    away = InhibitRule(name="away-covers-no_usage",
                       source=Match(kinds=("out_no_return", "long_absent")),
                       target=Match(kinds=("no_usage",)), equal=("house",))
    # A building-wide outage (power, network) explains its devices' silence.
    building = InhibitRule(name="building-offline-covers-devices",
                           source=Match(kinds=("device_offline",), subject_types=("building",)),
                           target=Match(kinds=("device_offline",), subject_types=("device",)),
                           equal=("building",))
    return stay_in, away, building


def _default_routes() -> tuple[Route, ...]:
    return (Route(name="red-to-street", match=Match(severities=("red",)), notify=("street",)),)


_REPEAT_BY_KIND: dict[str, dict[str, float]] = {
    "group_rental": {"orange": 24 * HOUR}, "unusual_hours": {"orange": 24 * HOUR},
    "long_absent": {"orange": 24 * HOUR, "red": 4 * HOUR}}


class AlertSettings(Section):
    """The alert lifecycle after the detectors: repeats, mutes, routes, sinks."""

    repeat_interval_s: dict[Severity, float] = Field(
        default_factory=lambda: {"orange": 4 * HOUR, "red": 1 * HOUR},
        description="re-send a still-firing episode of this severity after this much event "
                    "time without an update; a severity not listed is never repeated")
    repeat_interval_by_kind: dict[str, dict[Severity, float]] = Field(
        default_factory=lambda: {kind: dict(v) for kind, v in _REPEAT_BY_KIND.items()},
        description="per-kind replacement of repeat_interval_s: patterns that change over "
                    "days (群租, 昼伏夜出) are visited once a day, not every few hours; an "
                    "absence counted in days (久未出现) is re-sent every 4 h when red. A file's "
                    "kinds are added to these (a kind set to {} is never repeated)")
    inhibit: tuple[InhibitRule, ...] = Field(default_factory=_default_inhibit)
    routes: tuple[Route, ...] = Field(default_factory=_default_routes)
    silences: SilenceSettings = Field(default_factory=SilenceSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @field_validator("repeat_interval_s")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for sev, seconds in v.items():
            if seconds <= 0:
                raise ValueError(f"repeat_interval_s.{sev} cannot be zero or negative "
                                 f"(leave the severity out to never repeat it)")
        return v

    @field_validator("repeat_interval_by_kind", mode="before")
    @classmethod
    def _over_shipped_kinds(cls, v: Any) -> Any:
        """A file's kinds replace those kinds' intervals; the other shipped kinds stay (a
        file tuning crowds must not start repeating 群租 every four hours)."""
        return {**_REPEAT_BY_KIND, **v} if isinstance(v, dict) else v

    @field_validator("repeat_interval_by_kind")
    @classmethod
    def _positive_by_kind(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for kind, intervals in v.items():
            for sev, seconds in intervals.items():
                if seconds <= 0:
                    raise ValueError(f"repeat_interval_by_kind.{kind}.{sev} cannot be zero or "
                                     f"negative (leave the severity out to never repeat it)")
        return v

    def repeat_interval(self, kind: str, severity: str) -> float | None:
        """Seconds between repeats of a still-firing episode, or None: never repeated."""
        return self.repeat_interval_by_kind.get(kind, self.repeat_interval_s).get(severity)

    @field_validator("inhibit")
    @classmethod
    def _unique_rules(cls, v: tuple[InhibitRule, ...]) -> tuple[InhibitRule, ...]:
        names = [r.name for r in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"inhibit rule names must be unique: {dup[0]!r}")
        return v
