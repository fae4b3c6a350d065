"""Turn an episode update into the contract's alert object (``gw.alerts`` format).

The registry supplies the grid hierarchy and the assignees, so the dispatch
system can route the alert down city → district → street → community → grid.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from detectors.base import Decision
from gridwatch.events import iso
from gridwatch.registry import Registry
from sinks.episodes import Update
from sinks.summary import summarize

UNASSIGNED = "unassigned"


class AlertRenderer:
    """Build alert dicts; ``hashes``/``versions`` describe the detectors by name."""

    def __init__(self, registry: Registry, tz: timezone, language: str,
                 hashes: dict[str, str], versions: dict[str, str]) -> None:
        self.registry = registry
        self.tz = tz
        self.language = language
        self.hashes = hashes
        self.versions = versions

    def render(self, u: Update) -> dict[str, Any]:
        d = u.decision
        grid_id = d.grid_id or self.subject_grid(d) or UNASSIGNED
        grid = self.registry.grids.get(grid_id)
        tags = self.registry.person_tags(d.subject_id) if d.subject_type == "person" else []
        alert: dict[str, Any] = {
            "alert_id": u.alert_id, "seq": u.seq, "kind": d.kind, "status": d.status,
            "severity": u.severity, "subject": {"type": d.subject_type, "id": d.subject_id},
            "grid": {"grid_id": grid_id,
                     "community_id": grid.community_id if grid else "",
                     "street_id": grid.street_id if grid else "",
                     "district_id": grid.district_id if grid else "",
                     "city_id": grid.city_id if grid else ""},
            "assignee": {"worker_id": grid.worker_id if grid else "",
                         "police_id": grid.police_id if grid else ""},
            "starts_at": iso(d.start, self.tz), "ts": iso(d.t, self.tz),
            "summary": summarize(d, tags, self.language),
            "evidence": d.evidence,
            "detector": {"name": d.detector, "version": self.versions.get(d.detector, "1"),
                         "config_hash": self.hashes.get(d.detector, "")},
        }
        if d.status == "resolved":
            alert["ends_at"] = iso(d.t, self.tz)
        return alert

    def subject_grid(self, d: Decision) -> str | None:
        reg = self.registry
        match d.subject_type:
            case "person":
                return reg.person_grid(d.subject_id)
            case "house":
                return reg.house_grid(d.subject_id)
            case "device":
                return reg.device_grid(d.subject_id)
            case "gate":
                return reg.gate_grid(d.subject_id)
            case "grid":
                return d.subject_id
        return None
