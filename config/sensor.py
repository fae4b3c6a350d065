"""Config of the ``sensor_threshold`` rules: limits per metric, debounce and hysteresis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Section

Severity = Literal["blue", "yellow", "orange", "red"]


class Level(Section):
    """An escalation step: past ``limit`` the episode is raised to ``severity``."""

    limit: float
    severity: Severity


class ThresholdRule(Section):
    """One rule: fire when ``metric`` is above (or below) ``limit``.

    ``for_count``/``for_seconds`` debounce (that many readings, or that long,
    beyond the limit before firing); ``clear`` is the hysteresis limit the
    reading must come back past before the episode resolves, so a sensor
    hovering at its limit does not flap.
    """

    metric: str = Field(min_length=1)
    direction: Literal["above", "below"] = "above"
    limit: float
    clear: float | None = None
    severity: Severity = "orange"
    escalate: list[Level] = Field(default_factory=list)
    for_count: int = Field(default=1, ge=1)
    for_seconds: float = Field(default=0.0, ge=0)
    device_prefix: str = Field(default="", description="device class: only devices whose id "
                               "starts with this")
    unit: str | None = Field(default=None, description="device class by unit: only readings "
                             "in this unit (a °F sensor needs its own limits); none = any unit")

    @model_validator(mode="after")
    def _clear_on_safe_side(self) -> ThresholdRule:
        if self.clear is None:
            return self
        wrong = self.clear > self.limit if self.direction == "above" else self.clear < self.limit
        if wrong:
            side = "at or below" if self.direction == "above" else "at or above"
            raise ValueError(f"clear must be {side} limit ({self.limit}) for direction "
                             f"{self.direction!r}, got {self.clear}")
        return self

    @property
    def clear_limit(self) -> float:
        return self.limit if self.clear is None else self.clear


def _default_rules() -> list[ThresholdRule]:
    # Smoke detectors report a binary alarm: any alarm is urgent.
    # Household gas detectors (GB 15322.2) alarm between 3 and 20 %LEL; we fire
    # at 20 and call 50 red. Fixed-temperature heat detectors (EN 54-5 class A1)
    # trip at 54–65 °C; 57 °C is their typical static response.
    return [
        ThresholdRule(metric="smoke", limit=0.5, clear=0.5, severity="red"),
        ThresholdRule(metric="gas", limit=20.0, clear=10.0, severity="orange",
                      escalate=[Level(limit=50.0, severity="red")]),
        ThresholdRule(metric="temperature", limit=57.0, clear=50.0, severity="orange",
                      for_count=2, escalate=[Level(limit=80.0, severity="red")]),
    ]


class SensorThresholdConfig(Section):
    """Rules for ``sensor_threshold``.

    Per device class: of the rules for a reading's metric, those naming the
    most specific class it belongs to apply (longest ``device_prefix``, then a
    matching ``unit``), so a class rule replaces the generic one instead of
    firing beside it. Rules of equal specificity all apply (e.g. an ``above``
    and a ``below`` rule for one metric).
    """

    enabled: bool = True
    rules: list[ThresholdRule] = Field(default_factory=_default_rules)
