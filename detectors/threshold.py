"""``sensor_threshold``: configured limits on smoke, gas, temperature and any metric.

Debounce (N readings or a duration beyond the limit) keeps one noisy reading
from paging a grid worker at night; hysteresis (clear only back past a safer
limit) keeps a sensor that hovers at its limit from flapping between firing
and resolved. One episode per crossing; it escalates when a higher level is
passed and resolves when the reading comes back past ``clear``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.sensor import SensorThresholdConfig, ThresholdRule
from detectors.base import SEVERITY_RANK, Decision, DetectorBase, restore_slots
from gridwatch.events import Event, Iot
from gridwatch.registry import Registry


@dataclass(slots=True)
class _RuleState:
    """Per (device, rule): the current run of readings beyond the limit, and the episode."""

    __setstate__ = restore_slots

    count: int = 0
    first: float | None = None
    last_t: float = float("-inf")
    open_start: float | None = None
    severity: str = ""


class SensorThreshold(DetectorBase):
    """Fire when a reading crosses a configured rule; resolve when it clears.

    Examples
    --------
    >>> from gridwatch.events import Iot
    >>> det = SensorThreshold(SensorThresholdConfig(), Registry())
    >>> det.observe(Iot("e1", 0.0, "sm-1", "smoke", 0.0))
    []
    >>> [d.severity for d in det.observe(Iot("e2", 60.0, "sm-1", "smoke", 1.0))]
    ['red']
    >>> [d.status for d in det.observe(Iot("e3", 120.0, "sm-1", "smoke", 0.0))]
    ['resolved']
    """

    name = "sensor_threshold"
    version = "1"
    streams = frozenset({"iot"})
    observe_filters = True
    _not_state = ("config", "registry", "metrics", "_metrics", "_by_metric")

    def __init__(self, config: SensorThresholdConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self._metrics = self.metrics = frozenset(rule.metric for rule in config.rules)
        self._by_metric: dict[str, list[tuple[int, ThresholdRule]]] = {}
        for index, rule in enumerate(config.rules):
            self._by_metric.setdefault(rule.metric, []).append((index, rule))
        self.state: dict[tuple[str, int], _RuleState] = {}

    def shard_key(self, event: Event) -> str | None:
        if not isinstance(event, Iot) or not self.config.enabled:
            return None
        if event.metric not in self._metrics:
            return None
        return self.registry.device_grid(event.device_id) or event.device_id

    def observe(self, event: Event) -> list[Decision]:
        if not isinstance(event, Iot) or event.metric not in self._metrics \
                or not self.config.enabled:
            return []  # (most readings: no rule is about their metric)
        out: list[Decision] = []
        for index, rule in self._rules_for(event):
            key = (event.device_id, index)
            st = self.state.get(key)
            if st is None:
                st = self.state[key] = _RuleState()
            if event.t < st.last_t:
                continue  # an older reading must not undo a newer verdict
            st.last_t = event.t
            decision = self._step(rule, st, event)
            if decision is not None:
                out.append(decision)
            if st.open_start is None and st.count == 0:
                del self.state[key]  # nothing to remember: keep state bounded
        return out

    def advance(self, watermark: float) -> list[Decision]:
        return []

    def next_due(self) -> float:
        return math.inf  # readings decide everything: no deadlines

    def _rules_for(self, ev: Iot) -> list[tuple[int, ThresholdRule]]:
        """The rules of the most specific device class this reading belongs to."""
        rules = [(i, r) for i, r in self._by_metric.get(ev.metric, ())
                 if ev.device_id.startswith(r.device_prefix)
                 and (r.unit is None or r.unit == ev.unit)]
        if len(rules) <= 1:
            return rules
        best = max(_specificity(r) for _, r in rules)
        return [(i, r) for i, r in rules if _specificity(r) == best]

    def _step(self, rule: ThresholdRule, st: _RuleState, ev: Iot) -> Decision | None:
        if st.open_start is not None:
            return self._update_open(rule, st, ev)
        if not _beyond(rule, ev.value, rule.limit):
            st.count, st.first = 0, None
            return None
        st.count += 1
        st.first = ev.t if st.first is None else st.first
        if st.count < rule.for_count or ev.t - st.first < rule.for_seconds:
            return None
        st.open_start, st.severity = st.first, _severity(rule, ev.value)
        return self._decide(rule, st, ev, "firing")

    def _update_open(self, rule: ThresholdRule, st: _RuleState, ev: Iot) -> Decision | None:
        if not _beyond(rule, ev.value, rule.clear_limit):
            decision = self._decide(rule, st, ev, "resolved")
            st.open_start, st.severity, st.count, st.first = None, "", 0, None
            return decision
        severity = _severity(rule, ev.value)
        if SEVERITY_RANK[severity] > SEVERITY_RANK[st.severity]:
            st.severity = severity
            return self._decide(rule, st, ev, "firing")
        return None

    def _decide(self, rule: ThresholdRule, st: _RuleState, ev: Iot, status: str) -> Decision:
        assert st.open_start is not None
        evidence = {"metric": ev.metric, "value": ev.value, "limit": rule.limit,
                    "direction": rule.direction, "clear": rule.clear_limit,
                    "readings_beyond": st.count, "event_id": ev.event_id}
        if ev.unit:
            evidence["unit"] = ev.unit
        return self.decision("sensor_threshold", "device", ev.device_id, status,  # type: ignore[arg-type]
                             st.severity, st.open_start, ev.t, evidence,
                             self.registry.device_grid(ev.device_id))


def _specificity(rule: ThresholdRule) -> tuple[int, bool]:
    return len(rule.device_prefix), rule.unit is not None


def _beyond(rule: ThresholdRule, value: float, limit: float) -> bool:
    return value > limit if rule.direction == "above" else value < limit


def _severity(rule: ThresholdRule, value: float) -> str:
    severity = rule.severity
    for level in rule.escalate:
        higher = SEVERITY_RANK[level.severity] > SEVERITY_RANK[severity]
        if higher and _beyond(rule, value, level.limit):
            severity = level.severity
    return severity
