"""``event_cluster`` (事件聚集): reports and sensor alarms close in space and time, per grid.

Points are grid reports (at their ``lat``/``lon``) and sensor alarms (a
reading at or over an ``alarms`` limit, at its house's position; one point
per device per ``eps_minutes`` however often it repeats). Clustering is
ST-DBSCAN (Birant & Kut 2007) over position and time: two points are
neighbours when within ``eps_m`` metres *and* ``eps_minutes``; a point with
``min_samples`` neighbours (itself included) is a core point; clusters are
core points joined through core neighbours, plus the border points next to
them. Points without a position neighbour only each other (their place is
"somewhere in the grid").

Online and exact: points arrive in event-time order (:mod:`detectors.reorder`)
and a point can only ever be a neighbour of points within ``eps_minutes`` of
it, so each arrival updates neighbour counts, cores and clusters
incrementally (Ester et al. 1998's incremental DBSCAN, insertions only), and
points older than twice ``eps_minutes`` are never touched again. The result
is the clustering ``sklearn.cluster.DBSCAN`` gives on all the points at once
(border points next to two clusters may go to either, as in DBSCAN itself);
``tests/test_event_cluster.py`` checks this. Re-running scikit-learn on the
live points at every arrival would give the same answer at O(k²) per point;
an insertion here costs one pass over the k live points of its grid.

A cluster counts once it has ``min_sources`` distinct sources. The contract's
subject is the grid, so a grid holds one episode while any of its counted
clusters can still grow: it fires when the first counts, escalates as members
join (or an alarm joins), and resolves ``eps_minutes`` after its last member,
when no new point can join any more.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from config.patterns import EventClusterConfig
from detectors.base import SEVERITY_RANK, Decision, DetectorBase, restore_slots
from detectors.reorder import Deadlines, EventTimeBuffer
from gridwatch.events import Event, Iot, Report
from gridwatch.registry import Registry

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0
MAX_SOURCES = 64  # distinct sources remembered per cluster: enough to count past any limit


@dataclass(slots=True)
class _Point:
    t: float
    x: float  # metres east of the grid's reference
    y: float  # metres north
    located: bool
    source: str
    alarm: bool
    category: str
    seq: int = 0
    nbrs: int = 1  # neighbours, itself included
    core: bool = False
    cluster: int = -1  # -1: noise (so far)

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Cluster:
    points: dict[int, _Point] = field(default_factory=dict)  # live members by seq
    members: int = 0
    sources: set[str] = field(default_factory=set)
    alarms: int = 0
    first: float = math.inf
    last: float = -math.inf
    in_episode: bool = False

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Episode:
    start: float
    severity: str
    members: int = 0
    sources: set[str] = field(default_factory=set)
    alarms: int = 0
    clusters: int = 0
    last: float = -math.inf
    categories: dict[str, int] = field(default_factory=dict)

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Grid:
    ref_lat: float | None = None
    live: deque = field(default_factory=deque)  # points of the last 2·eps, oldest first
    clusters: dict[int, _Cluster] = field(default_factory=dict)
    episode: _Episode | None = None
    dropped: int = 0

    __setstate__ = restore_slots


class EventCluster(DetectorBase):
    """Fire when reports and alarms cluster in space and time within a grid.

    Examples
    --------
    Four citizens report a fire hazard within 80 m and 25 minutes: with
    ``min_samples`` 4 the fourth makes a cluster. A smoke alarm next door
    joins and escalates it; an hour after its last member it is quiet.

    >>> from gridwatch.events import Iot, Report
    >>> from gridwatch.registry import Registry
    >>> reg = Registry()
    >>> reg.put("houses", {"house_id": "h1", "grid_id": "g1", "lat": 46.5804, "lon": 125.1003})
    >>> reg.put("devices", {"device_id": "sm-1", "house_id": "h1"})
    >>> det, out, T0 = EventCluster(EventClusterConfig(), reg), [], 1_800_000_000.0
    >>> for i, (dt, lat, lon) in enumerate([(0, 46.5800, 125.1000), (600, 46.5805, 125.1004),
    ...                                     (1200, 46.5801, 125.1008),
    ...                                     (1500, 46.5803, 125.1001)]):
    ...     out += det.observe(Report(f"r{i}", T0 + dt, "g1", "fire_hazard", "citizen",
    ...                               lat, lon, reporter_id=f"c{i}"))
    >>> out += det.observe(Iot("s1", T0 + 1800, "sm-1", "smoke", 1.0))
    >>> out += det.advance(T0 + 6 * 3600)
    >>> [(d.status, d.severity, d.evidence["members"], (d.t - T0) / 60) for d in out]
    [('firing', 'yellow', 4, 25.0), ('firing', 'orange', 5, 30.0), ('resolved', 'orange', 5, 90.0)]
    """

    name = "event_cluster"
    version = "1"
    streams = frozenset({"report", "iot"})
    # ``observe`` filters too, but most readings are no alarm: ``shard_key`` alone drops
    # them sooner. ``next_due`` stays "every step": the buffer keeps the watermark.
    _not_state = ("config", "registry", "metrics", "_eps_t", "_alarm_limit")

    def __init__(self, config: EventClusterConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self._eps_t = config.eps_minutes * 60.0
        self._alarm_limit = {rule.metric: rule.limit for rule in config.alarms}
        self.metrics = frozenset(self._alarm_limit)
        self.grids: dict[str, _Grid] = {}
        self.last_alarm: dict[str, float] = {}  # device → time of its last point
        self.alarm_mark = 64  # prune last_alarm when it outgrows this
        self.next_id = 0
        self.buffer: EventTimeBuffer[Event] = EventTimeBuffer()
        self.deadlines = Deadlines()

    def shard_key(self, event: Event) -> str | None:
        if not self.config.enabled:
            return None
        kind = type(event)
        if kind is Report:
            return event.grid_id  # type: ignore[union-attr]
        if kind is Iot:
            limit = self._alarm_limit.get(event.metric)  # type: ignore[union-attr]
            if limit is not None and event.value >= limit:  # type: ignore[union-attr]
                dev = event.device_id  # type: ignore[union-attr]
                return self.registry.device_grid(dev) or dev
        return None

    # ------------------------------------------------------------ engine calls
    def observe(self, event: Event) -> list[Decision]:
        if self.shard_key(event) is None:
            return []
        if self.buffer.push(event.t, event):
            return []
        return self._point(event)  # later than the allowed lateness: take it as it comes

    def advance(self, watermark: float) -> list[Decision]:
        out: list[Decision] = []
        for t, event in self.buffer.release(watermark):
            out += self._due(t, strict=True)
            out += self._point(event)
        out += self._due(watermark)
        return out

    def _due(self, t: float, strict: bool = False) -> list[Decision]:
        out: list[Decision] = []
        for grid_id, when in self.deadlines.pop_due(t, strict):
            out.append(self._resolve(grid_id, self.grids[grid_id], when))
        return out

    # ------------------------------------------------------------ points
    def _point(self, ev: Event) -> list[Decision]:
        made = self._make_point(ev)
        if made is None:
            return []
        grid_id, pt = made
        g = self.grids.get(grid_id)
        if g is None:
            g = self.grids[grid_id] = _Grid()
        self._expire(g, pt.t)
        if len(g.live) >= self.config.max_points_per_grid:
            g.dropped += 1  # bounded: a flood of reports is already an episode
            return []
        if pt.located:
            if g.ref_lat is None:
                g.ref_lat = pt.y
            pt.x *= M_PER_DEG_LON * math.cos(math.radians(g.ref_lat))
            pt.y *= M_PER_DEG_LAT
        self.next_id += 1
        pt.seq = self.next_id
        touched = self._insert(g, pt)
        return self._verdicts(grid_id, g, touched, pt.t)

    def _make_point(self, ev: Event) -> tuple[str, _Point] | None:
        if isinstance(ev, Report):
            located = ev.lat is not None and ev.lon is not None
            source = f"reporter:{ev.reporter_id}" if ev.reporter_id else f"report:{ev.event_id}"
            return ev.grid_id, _Point(ev.t, ev.lon or 0.0, ev.lat or 0.0, located, source,
                                      False, ev.category)
        assert isinstance(ev, Iot)
        last = self.last_alarm.get(ev.device_id)
        if last is not None and 0 <= ev.t - last < self._eps_t:
            return None  # the same alarm still sounding: one member per eps
        self.last_alarm[ev.device_id] = ev.t
        if len(self.last_alarm) > self.alarm_mark:  # bounded: forget alarms long over
            self.last_alarm = {d: a for d, a in self.last_alarm.items()
                               if ev.t - a < self._eps_t}
            self.alarm_mark = max(64, 2 * len(self.last_alarm))
        house = self.registry.houses.get(self.registry.device_house(ev.device_id) or "")
        located = house is not None and house.lat is not None and house.lon is not None
        lat = house.lat if house is not None and house.lat is not None else 0.0
        lon = house.lon if house is not None and house.lon is not None else 0.0
        grid = self.registry.device_grid(ev.device_id) or ev.device_id
        return grid, _Point(ev.t, lon, lat, located, f"device:{ev.device_id}", True,
                            f"{ev.metric}_alarm")

    def _expire(self, g: _Grid, now: float) -> None:
        """Points older than 2·eps can neither gain neighbours nor link a new core."""
        horizon = now - 2 * self._eps_t
        while g.live and g.live[0].t < horizon:
            pt = g.live.popleft()
            c = g.clusters.get(pt.cluster)
            if c is not None:
                del c.points[pt.seq]
                if not c.points:
                    del g.clusters[pt.cluster]

    def _near(self, a: _Point, b: _Point) -> bool:
        if abs(a.t - b.t) > self._eps_t or a.located != b.located:
            return False
        if not a.located:
            return True
        return math.hypot(a.x - b.x, a.y - b.y) <= self.config.eps_m

    def _insert(self, g: _Grid, p: _Point) -> set[int]:
        """Incremental DBSCAN insertion; returns the clusters that gained members."""
        neighbours = [q for q in g.live if self._near(p, q)]
        g.live.append(p)
        p.nbrs = len(neighbours) + 1
        fresh = []
        for q in neighbours:
            q.nbrs += 1
            if not q.core and q.nbrs >= self.config.min_samples:
                fresh.append(q)
        if p.nbrs >= self.config.min_samples:
            fresh.append(p)
        touched: set[int] = set()
        for c in fresh:
            c.core = True
        for c in fresh:
            around = neighbours if c is p else [q for q in g.live if q is not c
                                                and self._near(c, q)]
            touched |= self._link(g, c, around)
        if not p.core and p.cluster < 0:
            for q in neighbours:  # a border point of a core neighbour's cluster
                if q.core and q.cluster >= 0:
                    touched.add(self._join(g, q.cluster, p))
                    break
        return {c for c in touched if c in g.clusters}

    def _link(self, g: _Grid, core: _Point, around: list[_Point]) -> set[int]:
        """A new core point: merge its core neighbours' clusters, adopt unclaimed borders."""
        if core.cluster < 0:
            self._join(g, self._new_cluster(g), core)
        cid = core.cluster
        for q in around:
            if q.core and q.cluster >= 0 and q.cluster != cid:
                cid = self._merge(g, cid, q.cluster)
            elif q.cluster < 0:
                self._join(g, cid, q)
        return {cid}

    def _new_cluster(self, g: _Grid) -> int:
        self.next_id += 1
        g.clusters[self.next_id] = _Cluster()
        return self.next_id

    def _join(self, g: _Grid, cid: int, p: _Point) -> int:
        c = g.clusters[cid]
        p.cluster = cid
        c.points[p.seq] = p
        c.members += 1
        if len(c.sources) < MAX_SOURCES:
            c.sources.add(p.source)
        c.alarms += p.alarm
        c.first, c.last = min(c.first, p.t), max(c.last, p.t)
        ep = g.episode
        if c.in_episode and ep is not None:
            self._episode_add(ep, [p])
        return cid

    def _merge(self, g: _Grid, a: int, b: int) -> int:
        """Union by size: relabel the smaller cluster's live points."""
        ca, cb = g.clusters[a], g.clusters[b]
        if len(ca.points) < len(cb.points):
            a, b, ca, cb = b, a, cb, ca
        for p in cb.points.values():
            p.cluster = a
        ep = g.episode
        if ep is not None and ca.in_episode != cb.in_episode:
            joining = cb if ca.in_episode else ca
            self._episode_add(ep, list(joining.points.values()))
            ep.members += joining.members - len(joining.points)  # expired members too
        ca.points.update(cb.points)
        ca.members += cb.members
        ca.sources.update(sorted(cb.sources)[:max(0, MAX_SOURCES - len(ca.sources))])
        ca.alarms += cb.alarms
        ca.first, ca.last = min(ca.first, cb.first), max(ca.last, cb.last)
        ca.in_episode = ca.in_episode or cb.in_episode
        del g.clusters[b]
        return a

    # ------------------------------------------------------------ episodes
    def _episode_add(self, ep: _Episode, points: list[_Point]) -> None:
        for p in points:
            ep.members += 1
            if len(ep.sources) < MAX_SOURCES:
                ep.sources.add(p.source)
            ep.alarms += p.alarm
            ep.last = max(ep.last, p.t)
            ep.categories[p.category] = ep.categories.get(p.category, 0) + 1

    def _verdicts(self, grid_id: str, g: _Grid, touched: set[int], t: float) -> list[Decision]:
        cfg, out = self.config, []
        for cid in sorted(touched):
            c = g.clusters.get(cid)
            if c is None or c.in_episode or len(c.sources) < cfg.min_sources:
                continue
            c.in_episode = True
            if g.episode is None:
                g.episode = _Episode(start=c.first, severity="")
            g.episode.clusters += 1
            self._episode_add(g.episode, list(c.points.values()))
            g.episode.members += c.members - len(c.points)
        ep = g.episode
        if ep is None:
            return out
        self.deadlines.set(grid_id, ep.last + self._eps_t)
        severity = self._severity(ep)
        if SEVERITY_RANK[severity] > SEVERITY_RANK.get(ep.severity, -1):
            ep.severity = severity
            out.append(self._decide(grid_id, ep, "firing", t))
        return out

    def _severity(self, ep: _Episode) -> str:
        cfg = self.config
        if ep.members >= cfg.red_members:
            return "red"
        if ep.members >= cfg.orange_members or ep.alarms:
            return max(cfg.severity, "orange", key=SEVERITY_RANK.__getitem__)
        return cfg.severity

    def _resolve(self, grid_id: str, g: _Grid, t: float) -> Decision:
        ep = g.episode
        assert ep is not None
        g.episode = None
        for c in g.clusters.values():
            c.in_episode = False
        return self._decide(grid_id, ep, "resolved", t)

    def _decide(self, grid_id: str, ep: _Episode, status: str, t: float) -> Decision:
        top = sorted(ep.categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        evidence: dict[str, Any] = {
            "members": ep.members, "sources": len(ep.sources), "sensor_alarms": ep.alarms,
            "clusters": ep.clusters, "categories": dict(top),
            "eps_m": self.config.eps_m, "eps_minutes": self.config.eps_minutes,
            "last_member_at": ep.last}
        return self.decision("event_cluster", "grid", grid_id, status,  # type: ignore[arg-type]
                             ep.severity, ep.start, t, evidence, grid_id)
