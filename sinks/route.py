"""Routing: who must see an alert, written onto it as the optional ``routes`` field.

The grid hierarchy gives every alert its grid worker and police (the
``assignee``); config routes add the centres of higher levels for some kinds
or severities (red → also the street centre). The result is one flat list, so
a dispatch integrator fans out from a single field instead of re-implementing
our rules, and a notify sink can select "what the street centre gets".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.alerts import Route
from sinks.labels import matches

LEVEL_ID = {"community": "community_id", "street": "street_id", "district": "district_id",
            "city": "city_id"}


class AlertRouter:
    """``routes(alert, labels)`` → ``[{"to": …, "id": …, "route"?: …}, …]``.

    >>> from config.alerts import AlertSettings
    >>> router = AlertRouter(AlertSettings().routes)
    >>> alert = {"assignee": {"worker_id": "w-1", "police_id": "pol-1"},
    ...          "grid": {"grid_id": "g-1", "street_id": "s-1"}}
    >>> [r["to"] for r in router.routes(alert, {"kind": "stay_in", "severity": "red",
    ...                                         "subject_type": "person"})]
    ['grid_worker', 'police', 'street']
    """

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.config = routes

    def routes(self, alert: Mapping[str, Any], labels: Mapping[str, str]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        assignee = alert.get("assignee") or {}
        if assignee.get("worker_id"):
            out.append({"to": "grid_worker", "id": assignee["worker_id"]})
        if assignee.get("police_id"):
            out.append({"to": "police", "id": assignee["police_id"]})
        grid = alert.get("grid") or {}
        seen: set[str] = set()
        for route in self.config:
            if not matches(route.match, labels):
                continue
            for level in route.notify:
                target = grid.get(LEVEL_ID[level], "")
                if target and level not in seen:
                    seen.add(level)
                    out.append({"to": level, "id": target, "route": route.name})
        return out


def routed_to(alert: Mapping[str, Any], levels: tuple[str, ...]) -> bool:
    """Is the alert routed to one of ``levels`` (a sink's ``routed_to`` filter)?"""
    return any(r.get("to") in levels for r in alert.get("routes") or ())
