"""What the live board shows, kept from the alert updates on ``gw.alerts``.

Why from ``gw.alerts`` and not from the alerts one worker emits: each worker
owns only some partitions, but the centre watches the whole city on every
board; reading the topic also refills the board after a restart. Updates
are deduplicated on (``alert_id``, ``seq``) since delivery is at-least-once.

The board's clock is event time (the newest alert's ``ts``), like the
pipeline's: "the last 24 hours" of a replayed or accelerated feed means 24
hours of its own time.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

LEVELS = ("city", "district", "street", "community", "grid")
SEVERITIES = ("red", "orange", "yellow", "blue")
RECENT_MAX = 200
SEEN_MAX = 200_000  # episodes remembered for deduplication (open ones are never dropped)
HOURS = 24
HOUR_S = 3600
Path = tuple[str, ...]


def grid_path(grid: Mapping[str, Any]) -> Path:
    """city → district → street → community → grid ids of an alert's ``grid`` object."""
    return tuple(str(grid.get(f"{level}_id") or "-") for level in LEVELS)


def slim(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the page shows (pseudonymous ids and numbers only, as the contract has)."""
    keys = ("alert_id", "seq", "kind", "status", "severity", "subject", "starts_at", "ts",
            "summary", "evidence")
    out = {k: alert.get(k) for k in keys}
    out["grid_id"] = (alert.get("grid") or {}).get("grid_id")
    out["detector"] = (alert.get("detector") or {}).get("name")
    return out


class BoardState:
    """Open episodes, newest updates and hourly counts, all keyed by grid path."""

    def __init__(self, grids: Mapping[str, Any] | None = None) -> None:
        self.grids = grids if grids is not None else {}  # the registry's, read live
        self.paths: dict[str, Path] = {}
        self.seen: OrderedDict[str, int] = OrderedDict()
        self.open: dict[str, dict[str, Any]] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_MAX)
        self.hourly: Counter[tuple[str, str, int]] = Counter()  # (grid, kind, hour) → new
        self.last_by_detector: dict[str, str] = {}
        self.clock = float("-inf")
        self.clock_ts = ""  # the newest alert's own ts, in its own offset, for display
        self.version = 0

    def apply(self, alert: Mapping[str, Any]) -> bool:
        """Take one alert update; False if it is a duplicate or older than one seen."""
        alert_id, seq = str(alert.get("alert_id")), int(alert.get("seq") or 0)
        if self.seen.get(alert_id, 0) >= seq:
            return False
        self.seen[alert_id] = seq
        self.seen.move_to_end(alert_id)
        self._forget()
        item = slim(alert)
        grid_id = str(item["grid_id"])
        self.paths[grid_id] = grid_path(alert.get("grid") or {})
        t = _epoch(item["ts"])
        if item["status"] == "resolved":
            self.open.pop(alert_id, None)
        else:
            self.open[alert_id] = item
        if seq == 1 and t is not None:
            self.hourly[(grid_id, str(item["kind"]), int(t // HOUR_S))] += 1
        if t is not None and t > self.clock:
            self.clock, self.clock_ts = t, str(item["ts"])
            self._trim()
        if item["detector"]:
            self.last_by_detector[str(item["detector"])] = str(item["ts"])
        self.recent.appendleft(item)
        self.version += 1
        return True

    def _forget(self) -> None:
        """Bound the dedup memory: the least recently updated closed episodes go first."""
        while len(self.seen) > SEEN_MAX:
            oldest = next(iter(self.seen))
            if oldest in self.open:
                self.seen.move_to_end(oldest)  # open: keep (at most all open ones)
                if len(self.open) >= len(self.seen):
                    return
                continue
            del self.seen[oldest]

    def _trim(self) -> None:
        oldest = int(self.clock // HOUR_S) - HOURS + 1
        for key in [k for k in self.hourly if k[2] < oldest]:
            del self.hourly[key]

    # ------------------------------------------------------------ views
    def path_of(self, grid_id: str) -> Path:
        row = self.grids.get(grid_id)
        if row is not None:
            return tuple(str(getattr(row, f"{level}_id", "") or "-") for level in LEVELS)
        return self.paths.get(grid_id, ("-", "-", "-", "-", grid_id))

    def all_paths(self) -> dict[str, Path]:
        return {g: self.path_of(g) for g in {*self.grids, *self.paths}}

    def view(self, scope: Path = (), recent: int = 30, episodes: int = 100) -> dict[str, Any]:
        """Everything the page shows for one node of the hierarchy (``()`` = all cities)."""
        scope = tuple(scope)[:len(LEVELS)]
        paths = self.all_paths()
        inside = {g for g, p in paths.items() if p[:len(scope)] == scope}
        opened = [a for a in self.open.values() if a["grid_id"] in inside]
        return {
            "scope": list(scope), "level": LEVELS[min(len(scope), len(LEVELS) - 1)],
            "child_level": LEVELS[len(scope)] if len(scope) < len(LEVELS) else None,
            "children": self._children(scope, paths, opened),
            "open": _by_severity(opened),
            "episodes": _urgent_first(opened)[:episodes],
            "recent": [a for a in self.recent if a["grid_id"] in inside][:recent],
            "kinds": self._kinds(inside), "clock": self.clock, "clock_ts": self.clock_ts,
            "version": self.version,
            "grid_names": {g: getattr(self.grids.get(g), "name", "") or "" for g in inside
                           if len(scope) >= len(LEVELS) - 1},
        }

    def _children(self, scope: Path, paths: Mapping[str, Path],
                  opened: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        depth = len(scope)
        if depth >= len(LEVELS):
            return []
        kids: dict[str, Counter[str]] = {p[depth]: Counter() for p in paths.values()
                                         if p[:depth] == scope}
        for alert in opened:
            kids[paths[alert["grid_id"]][depth]][str(alert["severity"])] += 1
        names = {g: getattr(r, "name", "") for g, r in self.grids.items()}
        return [{"id": k, "name": names.get(k, "") if depth == len(LEVELS) - 1 else "",
                 "open": {s: c[s] for s in SEVERITIES}, "total": sum(c.values())}
                for k, c in sorted(kids.items(), key=lambda kv: (-_weight(kv[1]), kv[0]))]

    def _kinds(self, inside: set[str]) -> dict[str, list[int]]:
        """New episodes per kind per hour, oldest first, over the last 24 hours."""
        if self.clock == float("-inf"):
            return {}
        last = int(self.clock // HOUR_S)
        out: dict[str, list[int]] = {}
        for (grid, kind, hour), n in self.hourly.items():
            if grid in inside and last - hour < HOURS:
                out.setdefault(kind, [0] * HOURS)[HOURS - 1 - (last - hour)] += n
        return dict(sorted(out.items()))


def _epoch(ts: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(ts)).timestamp()
    except ValueError:
        return None


def _by_severity(alerts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    tally = Counter(str(a["severity"]) for a in alerts)
    return {s: tally[s] for s in SEVERITIES}


def _urgent_first(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Red before orange before yellow before blue; the newest first within each."""
    newest = sorted(alerts, key=lambda a: str(a["ts"]), reverse=True)
    return sorted(newest, key=lambda a: SEVERITIES.index(a["severity"])
                  if a["severity"] in SEVERITIES else len(SEVERITIES))


def _weight(c: Counter[str]) -> int:
    return c["red"] * 1_000_000 + c["orange"] * 10_000 + c["yellow"] * 100 + c["blue"]
