"""Inhibition: a firing *source* alert mutes *target* updates that share some labels.

As in Alertmanager's ``inhibit/``: rules come from config, the inhibitor
learns which alerts are firing sources as updates pass through
(:meth:`Inhibitor.observe`), and answers the one question every muter
answers, :meth:`Inhibitor.mutes`. A source keeps inhibiting while it is
itself muted (silenced or inhibited), and an alert never inhibits itself.

State is plain dicts (checkpointed with the engine): per rule, the values of
its ``equal`` labels → the alert ids of the sources firing with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from config.alerts import InhibitRule
from sinks.labels import Labels, matches


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert update on its way out: the alert dict, its labels, its event time."""

    alert: Mapping[str, Any]
    labels: Labels
    t: float

    @property
    def alert_id(self) -> str:
        return str(self.alert["alert_id"])


class Muter(Protocol):
    """What inhibitor and silencer share: may this update go out, and if not, why."""

    def mutes(self, c: Candidate) -> bool: ...

    def why(self, c: Candidate) -> list[dict[str, Any]]: ...


class Inhibitor:
    """Mutes targets of the configured rules while a matching source fires.

    >>> from config.alerts import AlertSettings
    >>> inh = Inhibitor(AlertSettings().inhibit)
    >>> def cand(aid, kind, sev, status="firing", stype="person"):
    ...     labels = {"kind": kind, "severity": sev, "status": status, "subject_type": stype,
    ...               "subject_id": "x", "house": "h-1", "building": "b-1"}
    ...     return Candidate({"alert_id": aid, "kind": kind, "subject": {}}, labels, 0.0)
    >>> _ = inh.observe(cand("a1", "stay_in", "red"))
    >>> inh.mutes(cand("a2", "no_usage", "orange", stype="house"))
    True
    >>> _ = inh.observe(cand("a1", "stay_in", "red", status="resolved"))
    >>> inh.mutes(cand("a2", "no_usage", "orange", stype="house"))
    False
    """

    def __init__(self, rules: tuple[InhibitRule, ...]) -> None:
        self.rules = rules
        # rule name → equal-label values → {source alert_id: what the muted record shows}
        self.sources: dict[str, dict[tuple[str, ...], dict[str, dict[str, Any]]]] = {
            r.name: {} for r in rules}
        self.where: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # alert_id → its slots

    def observe(self, c: Candidate) -> bool:
        """Track ``c`` as a source (or not any more); True if it stopped inhibiting something."""
        before = self.where.pop(c.alert_id, [])
        for rule_name, key in before:
            slot = self.sources[rule_name].get(key, {})
            slot.pop(c.alert_id, None)
            if not slot:
                self.sources[rule_name].pop(key, None)
        now: list[tuple[str, tuple[str, ...]]] = []
        if c.labels["status"] == "firing":
            for rule in self.rules:
                key = _key(rule, c.labels)
                if key is not None and matches(rule.source, c.labels):
                    self.sources[rule.name].setdefault(key, {})[c.alert_id] = _describe(c)
                    now.append((rule.name, key))
        if now:
            self.where[c.alert_id] = now
        return bool(set(before) - set(now))

    def why(self, c: Candidate) -> list[dict[str, Any]]:
        """The firing sources that inhibit ``c``, each with the rule that links them."""
        out: list[dict[str, Any]] = []
        for rule in self.rules:
            if not matches(rule.target, c.labels):
                continue
            key = _key(rule, c.labels)
            if key is None:
                continue
            for source_id, info in self.sources[rule.name].get(key, {}).items():
                if source_id != c.alert_id:
                    out.append({"rule": rule.name, **info})
        return out

    def mutes(self, c: Candidate) -> bool:
        return bool(self.why(c))

    def snapshot(self) -> dict[str, Any]:
        return {"sources": self.sources, "where": self.where}

    def restore(self, state: Mapping[str, Any]) -> None:
        known = {r.name for r in self.rules}  # a rule removed from config is forgotten
        self.sources = {name: slots for name, slots in state["sources"].items() if name in known}
        for name in known:
            self.sources.setdefault(name, {})
        self.where = {aid: [s for s in slots if s[0] in known]
                      for aid, slots in state["where"].items()}


def _key(rule: InhibitRule, labels: Mapping[str, str]) -> tuple[str, ...] | None:
    """The values of the rule's ``equal`` labels; ``None`` when one is unknown (empty):
    two alerts that both lack a house do not share one."""
    values = tuple(labels.get(name, "") for name in rule.equal)
    return None if "" in values else values


def _describe(c: Candidate) -> dict[str, Any]:
    return {"alert_id": c.alert_id, "kind": c.alert["kind"], "subject": c.alert["subject"]}
