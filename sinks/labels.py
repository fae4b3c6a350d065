"""Labels: the flat view of an alert that inhibition, silences, routes and sinks match on.

An alert names its subject (a person, a device, …) but a rule often speaks of
where the subject lives: "no_usage of the *house* of a person who stays in",
"every device of *building* b-12". The registry answers that once, here, so
every rule uses the same vocabulary (:data:`config.alerts.LABELS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.alerts import Match
from gridwatch.registry import Registry

Labels = dict[str, str]


def alert_labels(alert: Mapping[str, Any], registry: Registry) -> Labels:
    """Every label of an alert dict (``gw.alerts`` format); unknown places are empty strings."""
    subject = alert["subject"]
    grid = alert.get("grid") or {}
    house = subject_house(subject["type"], subject["id"], registry)
    return {
        "kind": alert["kind"], "severity": alert["severity"], "status": alert["status"],
        "subject_type": subject["type"], "subject_id": subject["id"],
        "grid_id": grid.get("grid_id", ""), "community_id": grid.get("community_id", ""),
        "street_id": grid.get("street_id", ""), "district_id": grid.get("district_id", ""),
        "city_id": grid.get("city_id", ""), "house": house or "",
        "building": subject_building(subject["type"], subject["id"], house, registry) or "",
    }


def subject_house(subject_type: str, subject_id: str, registry: Registry) -> str | None:
    """The house a subject belongs to: a person's home, a device's or a door's house."""
    match subject_type:
        case "house":
            return subject_id
        case "person":
            return registry.person_house(subject_id)
        case "device":
            return registry.device_house(subject_id)
        case "gate":
            return registry.gate_house(subject_id)
    return None


def subject_building(subject_type: str, subject_id: str, house: str | None,
                     registry: Registry) -> str | None:
    """The building a subject is in: itself for a building, else its house's building."""
    if subject_type == "building":
        return subject_id
    row = registry.houses.get(house) if house else None
    return row.building_id or None if row else None


def matches(match: Match, labels: Mapping[str, str]) -> bool:
    """Does an alert with ``labels`` fall under ``match``? Empty fields match anything."""
    if match.kinds and labels["kind"] not in match.kinds:
        return False
    if match.severities and labels["severity"] not in match.severities:
        return False
    if match.subject_types and labels["subject_type"] not in match.subject_types:
        return False
    return all(labels.get(name) == value for name, value in match.labels.items())


def matchers_match(matchers: Mapping[str, str | list[str]], labels: Mapping[str, str]) -> bool:
    """Silence matchers: every named label must equal the value (or one of the values)."""
    for name, want in matchers.items():
        have = labels.get(name, "")
        if isinstance(want, str):
            if have != want:
                return False
        elif have not in want:
            return False
    return True
