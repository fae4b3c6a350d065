"""Presence: ``stay_in``, ``out_no_return``, ``long_absent`` and ``no_usage``.

A watched person's *signs of life* are their passes at any gate (with the
direction) and, when they live alone, any activity of their home: water,
door, motion, the home's own door. Where they are is the newest directional
sign: a pass, or home activity (which means "at home"). A missed face or a
missed pass cannot open an episode by itself: two ``in`` passes in a row are
simply "in", and a person seen active at home is not out. In a home of
several people, activity cannot be told apart, so only the person's own
passes count.

One silence, one episode. From the last sign of life the detector computes
when the silence becomes too long for this person:

* inside — ``stay_in``: for a one-person home with sensors, when the silence
  outlasts this household's alert line for this hour of the day
  (:class:`~detectors.routine.SilenceLine`), between ``silence_min_hours`` and
  the tag's ``stay_in_hours`` (before the line is trusted, where the home's
  water is watched: the no_usage window of 12 waking hours); otherwise at
  ``stay_in_hours`` after the last pass. Silence of the sensors is not
  silence of the person: in a home whose devices report steadily (zero
  readings, heartbeats) the learned verdict waits for a report at or after
  its deadline, and a silence that ran through a blind spell (no reports for
  ``blind_hours``) is judged only once the home has reported again that
  long; a silence begun as the home's door opened with no pass of theirs,
  after motion and with none since, is an exit no reader recorded: the home's
  lines wait for them, the fixed hours stay the outer bound;
* outside (or nowhere known) — ``out_no_return`` at the person's outing line
  (bounded by ``out_min_hours`` and the tag's ``out_hours``), ``long_absent``
  at ``absent_hours``; the earlier one opens the episode, and the silence then
  only raises its severity (``orange_hours``, ``red_hours``). Known to be
  home, a person is never ``long_absent``, unless a grid counts their tag's
  absence after an ``in`` too (``absent_after_in``, off by default: a key person
  who left by a gap in the fence is inside by the passes). An outing
  begun with a household member (their `out` at the same gate within minutes)
  is no wander: no ``out_no_return``, and that member's `in` brings the person
  home too;
* ``no_usage`` for a watched one-person home: no water use, learned the same
  way, bounded by the published fixed window (waking hours only). It waits
  while the resident is out or in a stay_in/long_absent episode (that one
  says more), and while the grid's water is off (none of its other watched
  homes ran any where their habits expected several uses: a planned outage);
  a learned stay_in of a home its water meter sees waits then too. A stay_in
  whose silence began before the open no_usage fired opens as well (nothing
  since: a fall after a dry morning is still a fall); one whose silence began
  after it (seen since, then quiet again: a sick resident dozing) raises the
  no_usage episode instead of opening another.
  After a stay_in ends, the water's learned line counts from its end but the
  fixed window still from the last use: seen moving again and still dry is
  the sick resident no_usage is for; not before ``silence_min_hours`` after
  the end, though (a rescuer runs the tap: that silence was reported).

Every episode resolves at the next sign of life (or water use). Deadlines sit
in a heap with lazy invalidation, so ``advance`` costs what falls due. Before
an event is applied, the deadlines of its person and home that fell before it
are taken in time order as ``advance`` would have, so results do not depend
on how often the watermark moves; a sign exactly at a deadline wins.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from config.presence import PresenceConfig, TagRule
from detectors.base import SEVERITY_RANK, Decision, DetectorBase, restore_slots
from detectors.routine import HOUR, Habit, SilenceLine, hour_index, waking_deadline, with_margin
from gridwatch.events import Access, Event, Iot, iso
from gridwatch.registry import Registry

UNKNOWN, IN, OUT = 0, 1, 2
PERSON, HOME = 0, 1
INF = math.inf
MISSED_PRIOR_N = 20.0  # outings the prior share of missed exits weighs as
CADENCE_GAPS = 3  # gaps between a meter's readings before its cadence is trusted
SAME_READ_S = 60.0  # readings closer than this are one report (a resend, a split message)
COVERED = "covered"  # a quiet spell reported by raising the home's open no_usage
LONE_MEMORY = 200  # the share of a home's lone motions follows its last ~200 motions
ISOLATED_MAX = 0.5  # more isolated than this: a sensor that reports seldom; all count


@dataclass(slots=True)
class _Person:
    house: str | None
    last_seen: float = -INF  # newest sign of life
    last_pass: float = -INF
    last_dir: str = ""
    where: int = UNKNOWN
    where_t: float = -INF
    out_since: float = -INF  # the current (or last) outing: [out_since, back_t)
    back_t: float = -INF
    line: SilenceLine | None = None  # outings, for a tag with out_hours or a lone resident
    habit: Habit | None = None  # when a lone resident goes out, by hour of the day
    confirm: bool = False  # a learned stay_in is due: waiting for a report proving the home seen
    returns: int = 0  # outings that ended in a sign of return (a pass in, activity at home)
    unseen: int = 0  # outings that ended in another `out`: the return went unrecorded
    missed: int = 0  # `in` passes after an `in` (a trip apart): the exit went unrecorded
    with_t: float = -INF  # the outing begun then was with a household member (no wander)
    with_pid: str = ""  # …this one
    ep_kind: str = ""
    ep_start: float = 0.0
    ep_t: float = 0.0
    ep_sev: str = ""
    ep_evidence: dict[str, Any] = field(default_factory=dict)
    queued: float = 0.0

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Home:
    pid: str
    born: float
    act: SilenceLine = field(default_factory=SilenceLine)  # silences of all home activity
    water: SilenceLine = field(default_factory=SilenceLine)  # gaps between water uses
    last_read: float = -INF  # newest water reading, any value
    last_power: float = -INF
    heard: float = -INF  # newest report of the home's devices (meter, heartbeat)
    steady: bool = False  # they report without activity too (zero readings, heartbeats)
    zeros: bool = False  # the water meter sends zero readings: each covers since the last
    back: float = -INF  # the first report after the latest blind spell (no reports)
    use_last: float = -INF  # newest water use (time of its reading)
    vols: list[tuple[float, float]] = field(default_factory=list)  # recent uses ≥ volume
    reset: float = -INF  # the water silence counts from here at the earliest
    supply_t: float = -INF  # the grid's water last found off: the silence is judged from here
    covered: float = -INF  # a stay_in reported the silence up to here
    nu_start: float = 0.0
    nu_t: float = 0.0
    nu_sev: str = ""
    nu_evidence: dict[str, Any] = field(default_factory=dict)
    waiting_meter: bool = False  # the meter went silent: judge at its next reading
    held: bool = False  # the resident is out or in another episode: judge when that ends
    queued: float = 0.0
    taps: Habit | None = None  # the hours water runs at, by share of days with water use
    tap_hour: int = -1  # the last local hour a use was counted in (one per hour)
    door_t: float = -INF  # newest door opening (a door contact)
    motion_t: float = -INF  # newest motion
    inside_t: float = -INF  # newest sign wholly after the door opening before it: someone in
    rise: float = 0.0  # longest recent wait (h) from the night's end to the day's first sign
    rise_day: int = -1  # local day of the last morning learned (rise fades per day)
    rises: int = 0  # mornings learned
    read_gap: float = INF  # the water meter's shortest gap between readings (s)
    read_gaps: int = 0  # gaps that taught it
    sensed: bool = False  # a device has shown the resident at home (water, door, motion)
    motions: int = 0  # motions reported (counted to LONE_MEMORY)
    isolated: float = 0.0  # share of recent motions with no other near them, either side
    lone_last: bool = False  # the newest motion had none just before it
    faint_t: float = -INF  # newest lone motion (someone still in the sensor's view)

    __setstate__ = restore_slots

    def vol_anchor(self, volume: float) -> float:
        """Time after which less than the window's volume was used."""
        if self.vols and sum(v for _, v in self.vols) >= volume:
            return self.vols[0][0]
        return self.born


@dataclass(frozen=True, slots=True)
class _Plan:
    due: float
    kind: str
    start: float
    how: str  # "learned" | "fixed"
    limit_h: float


class Presence(DetectorBase):
    """Silence of watched people and of elderly-alone homes' water.

    Examples
    --------
    An elderly person living alone, whose home shows motion every hour from
    7 to 22 for a week, comes home at 17:00 on day 8 and falls at 17:40. Their
    silences starting at that hour have lasted an hour at most, so the alert
    comes about 3 hours later (1 h × 2 + 1 h), not at the fixed 24 hours; it is
    orange (the tag's severity) and resolves when a worker opens the door.

    >>> from gridwatch.registry import Registry
    >>> from gridwatch.events import Access, Iot
    >>> reg = Registry()
    >>> reg.put("houses", {"house_id": "h-1", "grid_id": "g-1", "registered_occupants": 1})
    >>> reg.put("persons", {"person_id": "p-1", "house_id": "h-1", "tags": "elderly_alone"})
    >>> reg.put("devices", {"device_id": "mo-1", "house_id": "h-1"})
    >>> reg.put("devices", {"device_id": "dr-1", "house_id": "h-1"})
    >>> det, H = Presence(PresenceConfig(utc_offset_h=0), reg), 3600.0
    >>> for day in range(8):
    ...     for hour in range(7, 22):
    ...         _ = det.observe(Iot(f"m{day}-{hour}", (day * 24 + hour + .5) * H, "mo-1",
    ...                             "motion", 1.0))
    >>> _ = det.observe(Access("a1", (8 * 24 + 17) * H, "gate-1", "in", "face", "p-1"))
    >>> _ = det.observe(Iot("m-last", (8 * 24 + 17 + 40 / 60) * H, "mo-1", "motion", 1.0))
    >>> [(d.kind, d.status, d.severity, round(d.t / H - 8 * 24, 2), d.evidence["rule"])
    ...  for d in det.advance(9 * 24 * H)]
    [('stay_in', 'firing', 'orange', 20.63, 'learned')]
    >>> [(d.kind, d.status, d.evidence["hours"])
    ...  for d in det.observe(Iot("d1", (9 * 24 + 10) * H, "dr-1", "door", 1.0))]
    [('stay_in', 'resolved', 16.3)]
    """

    name = "presence"
    version = "1"
    kinds = frozenset({"stay_in", "out_no_return", "long_absent", "no_usage"})
    streams = frozenset({"access", "iot"})
    observe_filters = True  # observe routes the event itself and drops what has no key
    _not_state = ("config", "registry", "metrics", "_rules", "_off", "_tz", "_night",
                  "_water_tags", "_metrics", "_live", "_blind", "_grace", "_trip_s",
                  "_with_s", "_door_exit_s", "_pair_s", "_pair_learn",
                  "_known_at", "_rule_of", "_resident_of", "_watched_out_of",
                  "_grids", "_grids_at")

    def __init__(self, config: PresenceConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self._rules: dict[tuple[tuple[str, ...], str], TagRule | None] = {}
        # Registry answers asked about every pass and reading, remembered until a row is
        # put or deleted (``Registry.changes``): whether a home has one watched resident
        # (most readings are of homes without) and a tagged person's rule. Finding them
        # out again took a third of this detector's time. Both are keyed by registered
        # ids only (a house a registry row names, a person with tags), so a feed of
        # unknown ids cannot grow them.
        self._known_at = registry.changes
        self._rule_of: dict[str, TagRule | None] = {}
        self._resident_of: dict[str, str] = {}  # "" for nobody
        self._watched_out_of: dict[str, tuple[str, ...]] = {}  # residents with an out rule
        # the watched homes of each grid, for the water supply's census; kept up as homes
        # are added, built again after a restore or a registry change
        self._grids: dict[str, list[_Home]] = {}
        self._grids_at: tuple[int, int] = (0, registry.changes)
        self._off = config.utc_offset_h * HOUR
        self._tz = timezone(timedelta(hours=config.utc_offset_h))
        nu = config.no_usage
        self._night = (nu.night_start_hour, nu.night_end_hour)
        self._water_tags = frozenset(nu.tags) if nu.enabled else frozenset()
        self._live = frozenset(config.liveness_metrics)
        self._blind = config.blind_hours * HOUR
        self._grace = config.exit_grace_minutes * 60
        self._trip_s = config.same_trip_minutes * 60
        self._with_s = config.accompanied_minutes * 60
        self._door_exit_s = config.door_exit_minutes * 60
        self._pair_s = config.motion_pair_minutes * 60
        self._pair_learn = config.motion_pair_learn
        self._metrics = frozenset(config.activity_metrics) | {"water"} | self._live | (
            {"power"} if config.power_active_kwh_per_h else set())
        self.metrics = self._metrics
        self.persons: dict[str, _Person] = {}
        self.homes: dict[str, _Home] = {}
        self.heap: list[tuple[float, int, str]] = []
        # per home with a resident watched when out: its members' recent `out` passes
        # (time, gate, person), the last accompanied_minutes of them
        self.exits: dict[str, list[tuple[float, str, str]]] = {}

    # ------------------------------------------------------------ who is watched
    def _known(self) -> None:
        """Forget the remembered registry answers if a row was put or deleted since."""
        if self._known_at != self.registry.changes:
            self._known_at = self.registry.changes
            self._rule_of.clear()
            self._resident_of.clear()
            self._watched_out_of.clear()

    def rule(self, pid: str) -> TagRule | None:
        """The person's combined rule over their watched tags (``None``: not watched)."""
        tags = self.registry.person_tags(pid)
        if not tags:
            return None
        self._known()
        if pid not in self._rule_of:
            self._rule_of[pid] = self._combined_rule(pid, tags)
        return self._rule_of[pid]

    def _combined_rule(self, pid: str, tags: list[str]) -> TagRule | None:
        grid = self.registry.person_grid(pid) if self.config.grid_overrides else None
        key = (tuple(tags), grid or "")
        if key not in self._rules:
            self._rules[key] = _combine([r for t in tags
                                         if (r := self.config.rule(t, grid)) and r.watch])
        return self._rules[key]

    def _water_watched(self, pid: str) -> bool:
        return not self._water_tags.isdisjoint(self.registry.person_tags(pid))

    def _tracked(self, pid: str) -> bool:
        return self.rule(pid) is not None or self._water_watched(pid)

    def _resident(self, house: str | None) -> str | None:
        """The one registered resident of a home whose activity is theirs, if watched."""
        if house is None:
            return None
        self._known()
        hit = self._resident_of.get(house)
        if hit is None:
            hit = self._resident_of[house] = self._home_resident(house) or ""
        return hit or None

    def _watched_out(self, house: str | None) -> tuple[str, ...]:
        """The residents of ``house`` whose rule watches their outings (``out_hours``)."""
        if house is None or not self._with_s:
            return ()
        self._known()
        hit = self._watched_out_of.get(house)
        if hit is None:
            hit = self._watched_out_of[house] = tuple(
                pid for pid in self.registry.residents(house)
                if (rule := self.rule(pid)) is not None and rule.out_hours is not None)
        return hit

    def _home_resident(self, house: str) -> str | None:
        res = self.registry.residents(house)
        row = self.registry.houses.get(house)
        if len(res) != 1 or (row is not None and row.registered_occupants > 1):
            return None
        return res[0] if self._tracked(res[0]) else None

    def _route(self, ev: Event) -> tuple[str | None, str | None, str | None]:
        """(person whose state it touches, home whose state it touches, shard key)."""
        reg = self.registry
        if isinstance(ev, Access):
            door = reg.gate_house(ev.gate_id)
            home = door if self._resident(door) else None
            pid = ev.person_id if ev.person_id and self._tracked(ev.person_id) else None
            if home is not None and pid is not None and reg.person_house(pid) != home:
                pid = None  # a visitor at a watched door: the door's state owns the pass
            if home is not None:
                return pid, home, reg.house_grid(home)
            if pid is None and ev.person_id and self._watched_out(reg.person_house(ev.person_id)):
                return ev.person_id, None, reg.person_grid(ev.person_id)  # a companion's pass
            grid = reg.person_grid(pid) if pid else None
            return (pid, None, grid) if grid else (None, None, None)
        if isinstance(ev, Iot) and ev.metric in self._metrics:
            house = reg.device_house(ev.device_id)
            if self._resident(house):
                return None, house, reg.house_grid(house)
        return None, None, None

    def shard_key(self, event: Event) -> str | None:
        if not self.config.enabled:
            return None
        return self._route(event)[2]

    # ------------------------------------------------------------ events
    def observe(self, event: Event) -> list[Decision]:
        if not self.config.enabled:
            return []
        pid, house, key = self._route(event)
        out: list[Decision] = []
        if key is None:
            return out
        self._due_before(pid or (self._resident(house) if house else None),
                         house or self.registry.person_house(pid), event.t, out)
        if isinstance(event, Iot):
            self._reading(house, event, out)  # type: ignore[arg-type]
        elif isinstance(event, Access):
            if pid is not None and not self._tracked(pid):
                self._companion(pid, event, out)
            elif pid is not None:
                self._pass(pid, event, out)
            if house is not None and pid != self._resident(house):
                # someone at the door; an unidentified exit may be a visitor leaving
                self._home_sign(house, event.t, event.t, out, event.direction == "in")
        return out

    def _due_before(self, pid: str | None, house: str | None, t: float,
                    out: list[Decision]) -> None:
        """Deadlines of this person and home that fell before ``t``, in time order.

        ``advance`` may not have reached them yet (a coarse watermark, an idle
        partition): taking them here, as ``advance`` would have, keeps the
        decisions independent of how often the watermark moves.
        """
        for _ in range(16):
            p = self.persons.get(pid) if pid else None
            h = self.homes.get(house) if house else None
            due = [(x.queued, kind, key) for x, kind, key in ((p, PERSON, pid), (h, HOME, house))
                   if x is not None and x.queued and x.queued < t]
            if not due:
                return
            when, kind, key = min(due)  # type: ignore[type-var]
            if kind == PERSON:
                self._person_due(key, when, out)  # type: ignore[arg-type]
            else:
                self._home_due(key, when, out)  # type: ignore[arg-type]

    def _pass(self, pid: str, ev: Access, out: list[Decision]) -> None:
        p = self._person(pid)
        h = self.homes.get(p.house or "") if p.house else None
        if h is not None and h.pid == pid:
            self._home_overdue(p.house, h, ev.t, out)  # type: ignore[arg-type]
        self._sign(pid, p, ev.t, ev.direction, out)
        if self._watched_out(p.house):
            self._companion(pid, ev, out)
        if h is not None and h.pid == pid:
            self._water_reset(p.house, h, ev.t, out)  # type: ignore[arg-type]

    def _reading(self, house: str, ev: Iot, out: list[Decision]) -> None:
        cfg, t = self.config, ev.t
        h = self._home(house)
        if ev.metric == "water":
            self._water(house, h, ev, out)
            return
        if ev.metric == "power":
            span = min(max(t - h.last_power, 0.0), HOUR) if h.last_power > -INF else HOUR
            h.last_power = max(h.last_power, t)
            limit = cfg.power_active_kwh_per_h or INF
            active = span > 0 and ev.value / (span / HOUR) >= limit
            if "power" in self._live:
                self._report(house, h, t, out, quiet=not active)
            if active:
                self._home_sign(house, t, t - span, out)
            return
        if ev.metric in self._live:
            self._report(house, h, t, out)
            return
        if ev.value >= 0.5:  # door opened, motion seen (and other configured metrics)
            if ev.metric == "door":  # (before the sign: its plan sees the opening)
                h.door_t = max(h.door_t, t)
            elif ev.metric == "motion":
                prev, h.motion_t = h.motion_t, max(h.motion_t, t)
                if self._lone_motion(h, t, prev):
                    self._faint(house, h, t, out)
                    return
            self._home_sign(house, t, t, out)

    def _lone_motion(self, h: _Home, t: float, prev: float) -> bool:
        """A motion with no other of the home within ``motion_pair_minutes``, in a home whose
        motions mostly come with others: someone lying still in the sensor's view, not up.

        Someone up sets a PIR off again within minutes, and within half an hour even when
        busy out of its view; a fallen resident who moves a limb now and then sets it off
        once an hour, and counted as signs those triggers kept the home from ever falling
        silent (the third independent city's PIR-seen falls: 34-80 % of their motions with
        no other within 30 min, against 1-3 % of everyday ones). A sensor that reports
        seldom (one summary an hour) has mostly isolated motions: there every one counts.
        """
        if not self._pair_s:
            return False
        lone = not 0.0 < abs(t - prev) <= self._pair_s
        if h.motions:  # the one before had none before it and none since: isolated
            h.isolated += (float(h.lone_last and lone) - h.isolated) / h.motions
        h.motions, h.lone_last = min(h.motions + 1, LONE_MEMORY), lone
        return lone and h.motions > self._pair_learn and h.isolated <= ISOLATED_MAX

    def _faint(self, house: str, h: _Home, t: float, out: list[Decision]) -> None:
        """A lone motion: someone inside, though not up (no door exit, no sign). During a
        stay_in it makes the silence ambiguous, a fall in the sensor's view or a sick bed,
        so the water's own alert is no longer held behind the person's (``_held``)."""
        if t > h.door_t:
            h.inside_t = max(h.inside_t, t)
        h.faint_t = max(h.faint_t, t)
        if h.held and not self._held(h, self.persons[h.pid]):
            h.held = False
            self._schedule(HOME, house, h.queued, self._home_next(house, h))
            self._home_overdue(house, h, t, out)

    def _water(self, house: str, h: _Home, ev: Iot, out: list[Decision]) -> None:
        nu, t = self.config.no_usage, ev.t
        self._home_overdue(house, h, t, out)
        # a steady meter's reading covers everything since its previous one (two hours for
        # a two-hourly meter, an outage's worth after one): use in it may predate an `out`
        # pass. A meter that reports only use reads about when it was used.
        gap = max(t - h.last_read, 0.0) if h.last_read > -INF else 0.0
        if gap >= SAME_READ_S:
            h.read_gap, h.read_gaps = min(h.read_gap, gap), h.read_gaps + 1
        span = gap if h.zeros or self._coarse(h) else min(gap, HOUR)
        h.zeros = h.zeros or ev.value < nu.use_min_m3
        h.last_read = max(h.last_read, t)
        self._report(house, h, t, out, quiet=ev.value < nu.use_min_m3)
        if ev.value < nu.use_min_m3:
            if h.waiting_meter:
                self._home_wake(house, h, t, out)
            elif not h.queued:
                self._schedule(HOME, house, h.queued, self._home_next(house, h))
            return
        self._learn_water(h, t)
        self._note_tap(h, t)
        h.use_last = max(h.use_last, t)
        h.vols.append((t, ev.value))
        h.vols.sort()
        while len(h.vols) > 1 and sum(v for _, v in h.vols[1:]) >= nu.volume_m3:
            h.vols.pop(0)
        if h.nu_sev and t > h.nu_t:
            self._home_catch_up(house, h, t, out)
            out.append(self._home_decision(house, h, "resolved", t, {"water_m3": ev.value}))
            h.nu_sev, h.reset = "", max(h.reset, t)
        h.waiting_meter = False
        if "water" in self.config.activity_metrics:
            # stamped at the reading, not inside its span: a sign dated before its
            # arrival could open or close an episode depending on the watermark's cadence
            self._home_sign(house, t, t - span, out)
        self._schedule(HOME, house, h.queued, self._home_next(house, h))

    def _home_sign(self, house: str, t: float, since: float, out: list[Decision],
                   moves: bool = True) -> None:
        """Activity at a one-person home at ``t`` (a reading covering ``since`` … ``t``)."""
        h = self._home(house)
        h.sensed = True
        if h.born == INF:
            h.born = h.reset = t  # the home's history starts with its first sign
        if since > h.door_t:
            h.inside_t = max(h.inside_t, t)
        self._home_overdue(house, h, t, out)
        p = self._person(h.pid)
        if p.where == OUT and since < p.where_t + self._grace:
            # used before leaving, or reported as they left (a motion sensor's hold time, the
            # door closing behind them): not a sign they are back
            t = min(t, p.where_t)
            moves = False
        self._sign(h.pid, p, t, None, out, moves)

    def _report(self, house: str, h: _Home, t: float, out: list[Decision],
                quiet: bool = True) -> None:
        """A regular report of the home's devices at ``t``: they are alive, the home is seen.

        A home whose devices send ``quiet`` reports (no activity in them: a
        zero reading, a heartbeat) reports steadily, so a gap of more than
        ``blind_hours`` since its last report was a blind spell. A quiet report
        at or after a waiting learned deadline proves the silence: the stay_in
        opens now. (A meter that reports only use is the person's own signal.)
        """
        if h.steady and t - h.heard > self._blind:
            h.back = t
        h.heard = max(h.heard, t)
        h.steady = h.steady or quiet
        p = self.persons.get(h.pid)
        if not quiet or p is None or not p.confirm or p.ep_kind:
            return
        plans = [x for x in (self._learned_stay(p), self._waking_stay(p))
                 if x and x.due <= t and not self._unproved(p, x)]
        if plans:
            plan, p.confirm = plans[0], False
            if not self._water_blind(house, t):
                self._open(h.pid, p, _Plan(t, "stay_in", plan.start, plan.how, plan.limit_h),
                           out)
            self._schedule(PERSON, h.pid, p.queued, self._person_next(h.pid, p))

    # ------------------------------------------------------------ persons
    def _person(self, pid: str) -> _Person:
        p = self.persons.get(pid)
        if p is None:
            house = self.registry.person_house(pid)
            p = self.persons[pid] = _Person(house)
            rule = self.rule(pid)
            if rule is not None and rule.out_hours is not None:
                p.line = SilenceLine()
            if house is not None and self._resident(house) == pid:
                p.line, p.habit = p.line or SilenceLine(), Habit()
        return p

    def _sign(self, pid: str, p: _Person, t: float, direction: str | None,
              out: list[Decision], moves: bool = True) -> None:
        """A sign of life of ``pid`` at ``t``; ``direction`` for a pass, ``None`` for home."""
        if not p.ep_kind and p.queued and t > p.queued:
            plan = self._plan(pid, p)
            if plan is not None and plan.due < t:
                self._open_or_wait(pid, p, plan, out)  # the silence was real: open, then close
        if t > p.last_seen:
            h = self.homes.get(p.house or "")
            if h is not None and h.pid == pid:
                self._learn_act(h, p, t)
            if p.habit is not None:
                p.habit.seen(hour_index(t, self._off), self.config.line_fade_per_day)
            if p.ep_kind and t > p.ep_t:
                self._catch_up(pid, p, t, out)
                self._close(pid, p, t, out)
            p.last_seen, p.confirm = t, False
        if direction is not None and t > p.last_pass:
            if direction == "in" and p.last_dir == "in" and t - p.last_pass > self._trip_s:
                p.missed += 1
            p.last_pass, p.last_dir = t, direction
        was = p.where
        if moves and t >= p.where_t:
            self._move(p, t, OUT if direction == "out" else IN)
        if not self._falls_first(pid, p):
            self._schedule(PERSON, pid, p.queued, self._person_next(pid, p))
        h = self.homes.get(p.house or "")
        if h is not None and h.pid == pid:
            if was == OUT and p.where == IN:
                h.reset = max(h.reset, t)  # back home: the water silence starts again
            if h.held and not p.ep_kind and p.where != OUT:
                h.held = False
                self._schedule(HOME, p.house, h.queued, self._home_next(p.house, h))  # type: ignore[arg-type]

    def _companion(self, pid: str, ev: Access, out: list[Decision]) -> None:
        """A pass of a member of a home whose resident is watched when out.

        A watched resident who passed the same gate within ``accompanied_minutes``
        (before or after) of this member's `out` left with them — a carer, the family —
        and that outing is no wander. Most false wanders were outings whose return no
        reader saw; those who left together come back together, so the companion's
        `in` brings the resident home too (a second face behind the first is the
        classic pass a gate misses).
        """
        house = self.registry.person_house(pid)
        if ev.direction == "in":
            for q in self._watched_out(house):
                p = self.persons.get(q)
                if p is not None and p.where == OUT and p.with_pid == pid \
                        and p.with_t == p.out_since and ev.t > p.out_since:
                    self._sign(q, p, ev.t, None, out)  # back with them
            return
        recent = [x for x in self.exits.get(house, []) if abs(x[0] - ev.t) <= self._with_s]  # type: ignore[arg-type]
        for t, gate, other in recent:
            if other != pid and gate == ev.gate_id:
                for q, w, mate in ((pid, ev.t, other), (other, t, pid)):
                    p = self.persons.get(q)
                    if p is not None and p.where == OUT and abs(p.out_since - w) <= \
                            self._trip_s and p.with_t != p.out_since:
                        p.with_t, p.with_pid = p.out_since, mate
                        self._schedule(PERSON, q, p.queued, self._person_next(q, p))
        self.exits[house] = recent[-7:] + [(ev.t, ev.gate_id, pid)]  # type: ignore[index]

    def _falls_first(self, pid: str, p: _Person) -> bool:
        """The person's queued deadline comes before any a silence from ``last_seen``
        can have, so the plan need not be worked out now: when that entry falls due,
        :meth:`_person_due` works it out and queues it (a home's signs come minutes
        apart, each asking for a plan whose due could not come first). Only for a
        person at home outside an episode: an outing is timed from when it began."""
        if p.ep_kind or p.where != IN or not p.queued:
            return False
        rule = self.rule(pid)
        if rule is None or rule.stay_in_hours is None:
            return False
        floor = min(rule.stay_in_hours, self.config.silence_min_hours,
                    self.config.no_usage.window_hours)
        return p.queued <= p.last_seen + floor * HOUR

    def _move(self, p: _Person, t: float, where: int) -> None:
        same_trip = self.config.same_trip_minutes * 60
        if where == OUT and (p.where != OUT or t - p.where_t > same_trip):
            p.out_since, p.back_t = t, INF  # a new outing (a second `out` means they were in)
            p.unseen += p.where == OUT
            if p.habit is not None:
                p.habit.note(hour_index(t, self._off), self.config.line_fade_per_day)
        elif where == IN and p.where == OUT:
            p.back_t, p.returns = t, p.returns + 1
            if p.line is not None and not p.ep_kind and p.with_t != p.out_since:
                # (an outing with company is not theirs to learn a wander's line from)
                p.line.learn(hour_index(p.out_since, self._off), (t - p.out_since) / HOUR,
                             self.config.line_fade_per_day)
        p.where, p.where_t = where, t

    def _plan(self, pid: str, p: _Person) -> _Plan | None:
        """When the current silence becomes an episode, and of which kind."""
        rule, seen = self.rule(pid), p.last_seen
        if rule is None or seen == -INF:
            return None
        plans: list[_Plan] = []
        if p.where == OUT and rule.out_hours is not None and p.with_t != p.out_since:
            plans.append(self._out_plan(p, rule.out_hours))
        if p.where == IN and rule.stay_in_hours is not None:
            plans.append(self._stay_plan(p, rule.stay_in_hours))
        if rule.absent_hours is not None and (p.where != IN or rule.absent_after_in):
            plans.append(_Plan(seen + rule.absent_hours * HOUR, "long_absent", seen, "fixed",
                               rule.absent_hours))
        return min(plans, key=lambda x: x.due) if plans else None

    def _stay_plan(self, p: _Person, hours: float) -> _Plan:
        due = p.last_seen + hours * HOUR
        h = self.homes.get(p.house or "")
        if h is not None and self._reads_only(h):
            # the outer bound, past a report the meter may lose (its next reading shows
            # the day's water; with no use in it, the waiting line opens at once)
            due = max(due, h.last_read + 2 * h.read_gap)
        fixed = _Plan(due, "stay_in", p.last_seen, "fixed", (due - p.last_seen) / HOUR)
        plans = [fixed] if p.confirm else [fixed, *filter(None, (
            self._learned_stay(p), self._waking_stay(p)))]
        return min(plans, key=lambda x: x.due)

    def _waking_stay(self, p: _Person) -> _Plan | None:
        """No sign of life at all for the water rule's waking window: a stay_in.

        Where the home's water is watched (``no_usage``), its fixed window
        (12 waking hours) is an alert for water alone; a silence of water,
        doors, motion and passes for that long is a stronger sign, and says
        more as a stay_in. This is what finds a fall in a household's first
        week, before its own lines are trusted. Like a learned line, it needs
        the home's devices to have been seen (:meth:`_unproved`).
        """
        h = self.homes.get(p.house or "")
        if h is None or h.last_read == -INF or not self._water_watched(h.pid) \
                or self._left_unseen(h, p):
            return None
        seen, nu = p.last_seen, self.config.no_usage
        due = self._past_blind(h, seen, waking_deadline(seen, nu.window_hours, self._night,
                                                        self._off))
        return _Plan(due, "stay_in", seen, "waking", nu.window_hours)

    def _learned_stay(self, p: _Person) -> _Plan | None:
        """The household's own line for this silence, pushed past a blind spell within it.

        Only a home whose devices have shown the resident (water run, a door, motion)
        has a silence of its own: in one seen only by a power meter (alive, not a sign)
        the line would be the gaps between the resident's passes, and an afternoon at
        home after the morning's market a stay_in every day. The fixed hours judge it.

        A home whose devices stopped reporting (a gateway's power, a network)
        showed nothing of the person: that part of the silence is unknown, so
        the line is judged only once the devices have reported again for
        ``blind_hours`` (meters fold what they counted into their first
        reading back, and devices return in any order).

        A silence begun as the household's sleep begins (in the night window,
        no_usage's 22–06, after a toilet visit; or in the evening by someone who
        goes to bed at eight) whose line ends inside the night is sleep, as it is
        for water: it is judged again from the end of the night by the morning's
        line. A few nights with a toilet visit say little about a night without
        one, and an alerted silence teaches nothing, so without this one short
        night line would alert every night it is slept through. A silence that
        runs past the night's end is also judged by when the household is always
        up (:meth:`_by_rise`). Where the resident may be out unrecorded, the line
        is at least their outing's (:meth:`_usual_outing`).
        """
        h = self.homes.get(p.house or "")
        seen = p.last_seen
        if h is None or not h.sensed or self._left_unseen(h, p):
            return None
        line = self._line(h.act, seen, h.born)
        if line is None and (line := self._young_line(h.act, seen, h.born)) is None:
            due = self._young_morning(h, seen)  # (a young line ends in waking hours)
            if due is None:
                return None
            line = (due - seen) / HOUR
        due = seen + line * HOUR
        wake = waking_deadline(due, 0.0, self._night, self._off)
        if wake > due and self._bedtime(h, seen):  # sleep: judged again by the morning's line
            morning = self._line(h.act, wake, h.born)
            due = wake + (morning if morning is not None
                          else self.config.silence_min_hours) * HOUR
        due = self._by_rise(h, seen, due)
        due = max(due, seen + self._usual_outing(p, seen) * HOUR)
        due = self._past_blind(h, seen, due)
        return _Plan(due, "stay_in", seen, "learned", (due - seen) / HOUR)

    def _by_rise(self, h: _Home, seen: float, due: float) -> float:
        """``due``, or sooner for a silence that runs past the next night's end: by then
        this household is always up (:meth:`_rise_line`), whatever hour it fell silent."""
        dawn = self._dawn(seen)
        rise = self._rise_line(h, dawn) if due > dawn else None
        if rise is None:
            return due
        return min(due, max(dawn + rise * HOUR, seen + self.config.silence_min_hours * HOUR))

    def _rise_line(self, h: _Home, wake: float) -> float | None:
        """Hours after the night's end by which this household is always up: the latest
        recent first sign of the day, with the margin of any line. The morning's
        activity line is about silences *begun* at dawn, among them the quiet hours
        after breakfast; the first morning without water when water has run by eight
        for weeks is this one. Mornings are waking hours, which a few days show well
        (:meth:`_young_line`): ``None`` until the home has ``day_history_days`` of them."""
        cfg = self.config
        if not cfg.learn or wake - h.born < cfg.day_history_days * 86400 \
                or h.rises < cfg.day_history_days:
            return None
        fade = cfg.line_fade_per_day ** max(hour_index(wake, self._off) // 24 - h.rise_day, 0)
        hours = with_margin(h.rise * fade, cfg.silence_factor, cfg.silence_buffer_hours,
                            cfg.silence_margin_max_hours)
        return max(hours, cfg.silence_min_hours)

    def _young_morning(self, h: _Home, seen: float) -> float | None:
        """A young home's silence begun as its sleep begins, judged from the end of that
        night by its young morning line (:meth:`_young_line`: a few days show when the
        kettle and the door are usually heard). Without it a fall at nine in the evening
        in a home's first week waited for the fixed waking hours, till the next afternoon.
        ``None`` where the silence is not the night's or the home is too young."""
        if self._line(h.act, seen, h.born, self.config.day_history_days) is None \
                or not self._bedtime(h, seen):
            return None
        wake = self._dawn(seen)
        morning = self._young_line(h.act, wake, h.born)
        return None if morning is None else wake + morning * HOUR

    def _bedtime(self, h: _Home, seen: float) -> bool:
        """A silence begun as this household's sleep begins: in the night window, or at
        an evening hour from which its silences run into the night (an early bedtime).
        A silence begun at an hour the household is usually up for hours yet is judged
        by its own line even when that ends at night (an evening fall is not a sleep)."""
        started = h.act.started(hour_index(seen, self._off))
        return seen + started * HOUR >= self._night_from(seen)

    def _dawn(self, seen: float) -> float:
        """The end of the night a silence begun at ``seen`` runs into (the one it began
        in, or the next)."""
        return waking_deadline(self._night_from(seen), 0.0, self._night, self._off)

    def _night_from(self, seen: float) -> float:
        """When a silence begun at ``seen`` is in the night window: at once if it began
        inside it, else at the next night's start."""
        if waking_deadline(seen, 0.0, self._night, self._off) > seen:
            return seen
        local = (seen + self._off) % (24 * HOUR)
        return seen + (self._night[0] * HOUR - local) % (24 * HOUR)

    def _usual_outing(self, p: _Person, seen: float) -> float:
        """Hours a silence begun at ``seen`` may last as a missed outing (0: not likely).

        A face the gate did not recognise or a tailgate loses the `out` pass, and the
        home falls silent as it would on a fall. How likely that is depends on the hour
        (the share of days they leave within an hour of it) and on the resident's gates
        (the share of their exits missed: an `in` after an `in`, against
        ``missed_exit_prior`` over 20 outings). Where the two together reach
        ``outing_habit_share`` at the prior — a third of days for a resident whose exits
        are missed as often as most — the missed outing is the likelier reading, so the
        learned line is at least their outing line from here, up to ``out_min_hours``:
        the line is the longest outing's, and one night away must not make every quiet
        evening wait till morning; half a day out is no usual outing. After forty exits
        all recorded, a quiet home is judged by its own line even at the outing hour (a
        fall there is found hours sooner); a resident whose gate misses many exits waits
        at hours they leave less often.
        """
        cfg, hour = self.config, hour_index(seen, self._off)
        if p.habit is None or p.line is None:
            return 0.0
        prior = cfg.missed_exit_prior
        missed = (p.missed + MISSED_PRIOR_N * prior) / (p.returns + p.unseen + p.missed
                                                        + MISSED_PRIOR_N)
        if p.habit.share(hour) * missed < cfg.outing_habit_share * prior:
            return 0.0
        line = p.line.limit(hour, cfg.out_factor, cfg.out_buffer_hours, spread=2) or 0.0
        return min(line, cfg.out_min_hours)

    def _left_unseen(self, h: _Home, p: _Person) -> bool:
        """The resident left by an exit no reader recorded: the home's lines do not apply.

        The motion sensor saw them up and about shortly before the home's door opened,
        no pass of theirs goes with the opening (an exit recorded would have made them
        out; an entry is not preceded by motion in an empty home), and nothing inside
        has been seen since: they went out by a side gate or with a face the gates did
        not know. Such a silence is an outing, long as outings are; read as a silence
        at home it raised a stay_in by the home's short daytime line. A fall just after
        opening the door for a delivery is then found at the fixed hours.
        """
        window = self._door_exit_s
        return (window > 0 and h.door_t >= h.inside_t and h.door_t - h.motion_t <= window
                and abs(h.door_t - p.last_pass) > self._trip_s)

    def _past_blind(self, h: _Home, seen: float, due: float) -> float:
        """``due``, or later: a silence that ran through a blind spell is judged only
        after the home has reported again for ``blind_hours``."""
        return max(due, h.back + self._blind) if h.back > seen else due

    def _young_line(self, line: SilenceLine, since: float, born: float) -> float | None:
        """The line of a home with ``day_history_days`` … ``history_days`` of history.

        A few days show a household's waking hours well enough (a morning
        without the usual kettle and door), while a few nights say little about
        the longest ones: so a silence that begins and falls due outside the
        night window is judged by the young line (water's as activity's: a sick
        resident's dry morning is a ``no_usage`` in the first week as later),
        and any other waits for the fixed rules.
        """
        hours = self._line(line, since, born, self.config.day_history_days)
        if hours is None or waking_deadline(since, hours, self._night, self._off) \
                != since + hours * HOUR:
            return None  # too young, no line yet, or not wholly in waking hours
        return hours

    def _unproved(self, p: _Person, plan: _Plan) -> bool:
        """A learned stay_in whose home has not reported since its deadline: not yet seen.

        Silence of the sensors is not silence of the person. Where the home has
        regular reporters (a meter sending zero readings, heartbeats), the
        learned verdict waits for one of them at or after the deadline; a home
        without any is judged at the deadline as before. A home seen only through
        a coarse water meter (:meth:`_reads_only`) waits for that meter itself:
        the power meter's reports say the devices are alive, not that water did
        not run.
        """
        h = self.homes.get(p.house or "")
        if plan.kind != "stay_in" or plan.how == "fixed" or h is None:
            return False
        if self._reads_only(h):
            return h.last_read < plan.due
        return h.steady and h.heard < plan.due

    def _coarse(self, h: _Home) -> bool:
        """The home's water meter reads every few hours or less often (a daily NB-IoT
        meter): a reading says water ran at some time since the one before, not when,
        so it cannot show a silence shorter than its gap as the person's."""
        return h.read_gaps >= CADENCE_GAPS and h.read_gap >= self.config.silence_min_hours * HOUR

    def _reads_only(self, h: _Home) -> bool:
        """The home is seen only through such a meter (no motion sensor): a silence there
        is the person's only once the meter has read again, at or after its deadline.
        Judged at once by the power meter's hourly reports, a home with a daily meter
        had a stay_in every afternoon (its reading, at 01:39, the day's only sign),
        resolved by the next night's reading."""
        return h.motion_t == -INF and self._coarse(h)

    def _open_or_wait(self, pid: str, p: _Person, plan: _Plan, out: list[Decision]) -> None:
        if self._unproved(p, plan):
            p.confirm = True  # the fixed hours stay scheduled as the outer bound
        elif plan.how == "fixed" or not self._water_blind(p.house, plan.due):
            self._open(pid, p, plan, out)

    def _water_blind(self, house: str | None, t: float) -> bool:
        """The grid's water is off (:meth:`_supply_off`) and this home's meter is one of
        its signs: its learned lines, water among their signs, cannot judge the silence.
        It is a blind spell of the water, judged once the home has reported for
        ``blind_hours`` after it and never learned; the fixed hours stay the bound."""
        h = self.homes.get(house) if house else None
        if house is None or h is None or h.use_last == -INF \
                or "water" not in self.config.activity_metrics or not self._supply_off(house, h, t):
            return False
        h.back = max(h.back, t)
        return True

    def _line(self, line: SilenceLine, since: float, born: float,
              days: float | None = None) -> float | None:
        """Hours of silence from ``since`` that this household's routine makes improbable,
        once it has ``days`` (``history_days`` unless told) of history."""
        cfg = self.config
        if not cfg.learn or since - born < (cfg.history_days if days is None else days) * 86400:
            return None
        hours = line.limit(hour_index(since, self._off), cfg.silence_factor,
                           cfg.silence_buffer_hours, cap_h=cfg.silence_margin_max_hours)
        return None if hours is None else max(hours, cfg.silence_min_hours)

    def _out_plan(self, p: _Person, hours: float) -> _Plan:
        """The outing's line; an outing begun in the night at an hour this person is never
        out (night wandering, the classic pattern of dementia), or before they have a
        line at all, is judged at the floor."""
        cfg = self.config
        limit, how = hours, "fixed"
        line = None  # (none yet, or never out at this hour)
        if p.line is not None and p.line.count >= cfg.out_min_outings:
            line = p.line.limit(hour_index(p.out_since, self._off), cfg.out_factor,
                                cfg.out_buffer_hours, spread=2)
        if line is not None:
            if line < hours:
                limit, how = max(line, cfg.out_min_hours), "learned"
        elif waking_deadline(p.out_since, 0.0, self._night, self._off) > p.out_since:
            limit, how = min(hours, cfg.out_min_hours), "night"
        return _Plan(p.out_since + limit * HOUR, "out_no_return", p.out_since, how, limit)

    def _person_next(self, pid: str, p: _Person) -> float | None:
        if not p.ep_kind:
            plan = self._plan(pid, p)
            return plan.due if plan else None
        step = self._escalation(pid, p)
        return step[0] if step else None

    def _escalation(self, pid: str, p: _Person) -> tuple[float, str] | None:
        rule = self.rule(pid)
        if rule is None:
            return None
        steps = [(p.ep_start + hours * HOUR, sev) for hours, sev in
                 ((rule.orange_hours, "orange"), (rule.red_hours, "red"))
                 if hours is not None and SEVERITY_RANK[sev] > SEVERITY_RANK[p.ep_sev]]
        return min(steps) if steps else None

    def _open(self, pid: str, p: _Person, plan: _Plan, out: list[Decision]) -> None:
        rule = self.rule(pid)
        assert rule is not None
        sev = _severity(rule, plan.due - plan.start)
        p.ep_start, p.ep_t, p.ep_sev = plan.start, plan.due, sev
        p.ep_evidence = self._person_evidence(p, plan)
        h = self.homes.get(p.house or "")
        if plan.kind == "stay_in" and h is not None and h.pid == pid and h.nu_sev \
                and plan.start > h.nu_t:
            # seen after the water alert, quiet again: the same situation, not a new one
            p.ep_kind = COVERED
            self._home_raise(p.house, h, max(sev, "orange", key=SEVERITY_RANK.get),  # type: ignore[arg-type]
                             plan.due, {"activity_silent_hours": round(plan.limit_h, 1)}, out)
            return
        p.ep_kind = plan.kind
        out.append(self._person_decision(pid, p, "firing", plan.due, {}))

    def _catch_up(self, pid: str, p: _Person, t: float, out: list[Decision]) -> None:
        """Escalations that fell due before ``t``, whether or not the watermark got there."""
        while (step := self._escalation(pid, p)) is not None and step[0] < t:
            self._raise(pid, p, step[1], step[0], out)

    def _close(self, pid: str, p: _Person, t: float, out: list[Decision]) -> None:
        if p.ep_kind != COVERED:
            out.append(self._person_decision(pid, p, "resolved", t, {"seen_again": self._iso(t)}))
        p.ep_kind, p.ep_sev = "", ""
        h = self.homes.get(p.house or "")
        if h is not None and h.pid == pid:
            h.covered = max(h.covered, t)  # the silence that alerted covered the water's too
            self._schedule(HOME, p.house, h.queued, self._home_next(p.house, h))  # type: ignore[arg-type]

    def _person_due(self, pid: str, due: float, out: list[Decision]) -> None:
        p = self.persons.get(pid)
        if p is None or p.queued != due:
            return  # superseded by an earlier entry
        p.queued = 0.0
        if not p.ep_kind:
            plan = self._plan(pid, p)
            if plan is not None and plan.due <= due:
                self._open_or_wait(pid, p, plan, out)
        else:
            step = self._escalation(pid, p)
            if step is not None and step[0] <= due:
                self._raise(pid, p, step[1], step[0], out)
        self._schedule(PERSON, pid, p.queued, self._person_next(pid, p))

    def _raise(self, pid: str, p: _Person, sev: str, t: float, out: list[Decision]) -> None:
        p.ep_sev = sev
        if p.ep_kind == COVERED:
            h = self.homes.get(p.house or "")
            if h is not None and h.nu_sev:
                self._home_raise(p.house, h, sev, t, {}, out)  # type: ignore[arg-type]
            return
        out.append(self._person_decision(pid, p, "firing", t, {}))

    # ------------------------------------------------------------ homes and water
    def _home(self, house: str) -> _Home:
        h = self.homes.get(house)
        if h is None:
            pid = self._resident(house)
            assert pid is not None
            h = self.homes[house] = _Home(pid, born=INF)
            if self._grids_at == (len(self.homes) - 1, self.registry.changes):
                self._index_home(house, h)  # the index was whole: keep it so
        return h

    def _index_home(self, house: str, h: _Home) -> None:
        self._grids.setdefault(self.registry.house_grid(house) or "", []).append(h)
        self._grids_at = (len(self.homes), self.registry.changes)

    def _grid_homes(self, house: str) -> list[_Home]:
        """The watched homes of ``house``'s grid (itself among them)."""
        if self._grids_at != (len(self.homes), self.registry.changes):
            self._grids.clear()
            for key, h in self.homes.items():
                self._index_home(key, h)
        return self._grids.get(self.registry.house_grid(house) or "", [])

    def _supply_off(self, house: str, h: _Home, t: float) -> bool:
        """No water anywhere in the grid: its other watched homes, whose meters report and
        whose habits would have run water ``supply_expected`` times in the last
        ``supply_hours``, ran none. A planned outage or a burst main dries every home at
        once; the residents did not all fall together.

        Asked are homes with a water meter whose devices report steadily (zero readings,
        heartbeats) and reported in the span's second half, so that their silence is
        proved; not those whose resident is out or already in an episode. A use in any
        other home says the water runs.
        """
        nu = self.config.no_usage
        if not nu.supply_expected:
            return False
        span = nu.supply_hours * HOUR
        since = t - span
        # each clock hour the span touches, with the share of it inside the span
        hours: list[tuple[int, float]] = []
        for k in range(hour_index(since, self._off), hour_index(t, self._off) + 1):
            start = k * HOUR - self._off
            hours.append((k, (min(start + HOUR, t) - max(start, since)) / HOUR))
        expected = 0.0
        for other in self._grid_homes(house):
            if other is h:
                continue
            if other.use_last > since:
                return False
            p = self.persons.get(other.pid)
            if (other.taps is None or not other.steady or other.nu_sev or p is None
                    or p.where == OUT or p.ep_kind or other.heard < t - span / 2):
                continue
            dry = 1.0
            for k, part in hours:
                dry *= 1.0 - min(other.taps.share(k, 0), 1.0) * part
            expected += 1.0 - dry
        return expected >= nu.supply_expected

    def _learn_act(self, h: _Home, p: _Person, t: float) -> None:
        """A sign at ``t`` ends the home silence since the last one: learn its length.

        Only silences at home are the routine's (an outing has its own line),
        an alerted silence teaches nothing (learning a fall would make the
        next fall normal), nor does one the devices could not see (a blind spell).
        The morning's first sign is learned even after an alert (:meth:`_learn_rise`).
        """
        if h.born == INF:
            h.born = h.reset = t
            return
        if p.where == IN and p.last_seen > -INF and h.back <= p.last_seen:
            if not p.ep_kind:
                h.act.learn(hour_index(p.last_seen, self._off), (t - p.last_seen) / HOUR,
                            self.config.line_fade_per_day)
            self._learn_rise(h, p.last_seen, t)

    def _learn_rise(self, h: _Home, seen: float, t: float) -> None:
        """A silence at home from ``seen`` that ran past the night's end, ended at ``t``:
        the morning's first sign came that long after the night. A toilet visit at three
        ends a silence within the night and says nothing of the morning. Unlike the
        activity line this learns a morning that was alerted: the rise line only ever
        brings a deadline forward, and a resident who slept in once and was alerted must
        not be alerted every such morning after. A first sign later than no_usage's
        waking window after dawn was no morning (a rescue, a day away unrecorded)."""
        dawn = self._dawn(seen)
        if not seen < dawn < t or t - dawn > self.config.no_usage.window_hours * HOUR:
            return
        day = hour_index(dawn, self._off) // 24
        if h.rise_day >= 0 and day > h.rise_day:
            h.rise *= self.config.line_fade_per_day ** (day - h.rise_day)
        h.rise, h.rise_day, h.rises = max(h.rise, (t - dawn) / HOUR), max(h.rise_day, day), \
            h.rises + 1

    def _learn_water(self, h: _Home, t: float) -> None:
        """A water use at ``t`` ends the water silence counted from its anchor."""
        anchor = max(h.use_last, h.reset)
        if h.born == INF or anchor == -INF or t <= anchor or h.nu_sev or h.supply_t > anchor:
            return  # (a gap through the grid's outage says nothing of this home's habits)
        p = self.persons.get(h.pid)
        if p is not None and p.where == OUT:
            return
        h.water.learn(hour_index(anchor, self._off), (t - anchor) / HOUR,
                      self.config.line_fade_per_day)

    def _note_tap(self, h: _Home, t: float) -> None:
        """Count the hour of a water use, once per hour: the home's water habit."""
        hour = hour_index(t, self._off)
        if hour <= h.tap_hour:
            return
        if h.taps is None:
            h.taps = Habit()
        h.taps.note(hour, self.config.line_fade_per_day)
        h.tap_hour = hour

    def _after_habit(self, h: _Home, since: float) -> float:
        """The end of the first hour after ``since`` in which this home's water runs on
        ``habit_share`` of days; ``inf`` if none within a day.
        A learned no_usage needs its silence to have missed such a use: an afternoon that
        is sometimes quiet for hours is not the morning kettle missed."""
        share = self.config.no_usage.habit_share
        if not share:
            return -INF
        if h.taps is None:
            return INF
        hour = hour_index(since, self._off)
        for k in range(hour + 1, hour + 25):
            if h.taps.share_ahead(k) >= share:
                return (k + 1) * HOUR - self._off
        return INF

    def _water_reset(self, house: str, h: _Home, t: float, out: list[Decision]) -> None:
        """The resident passed a gate: up and about, so the water silence starts again."""
        if h.nu_sev and t > h.nu_t:
            self._home_catch_up(house, h, t, out)
            out.append(self._home_decision(house, h, "resolved", t, {"seen_again": self._iso(t)}))
            h.nu_sev = ""
        h.reset = max(h.reset, t)
        self._schedule(HOME, house, h.queued, self._home_next(house, h))

    def _water_plan(self, h: _Home) -> _Plan | None:
        if h.born == INF or h.pid not in self.persons or not self._water_watched(h.pid):
            return None
        nu = self.config.no_usage
        anchor = max(h.vol_anchor(nu.volume_m3), h.reset)
        # the grid's water was off since: judged from then, reported from the last use
        fixed = waking_deadline(max(anchor, h.supply_t), nu.window_hours, self._night,
                                self._off)
        seen = max(h.use_last, h.reset)
        if h.covered > anchor:  # a stay_in reported part of this dry spell
            seen = max(seen, h.covered)
            # Seen again, still dry: the fixed window from the last use stands (the sick
            # resident no_usage is for), once they have had the shortest silence line
            # since to run the tap (a rescuer runs it: that silence was reported).
            fixed = max(fixed, waking_deadline(seen, self.config.silence_min_hours,
                                               self._night, self._off))
        plans = [_Plan(fixed, "no_usage", anchor, "fixed", nu.window_hours)]
        judged = max(seen, h.supply_t)
        line = self._line(h.water, judged, h.born)
        p = self.persons[h.pid]  # (a missed exit silences the taps as it does the home)
        due: float | None = None
        if self._left_unseen(h, p):
            pass  # out by an exit no reader recorded: the fixed window is the bound
        elif line is not None:
            due = judged + max(line, self._usual_outing(p, judged)) * HOUR
            wake = waking_deadline(due, 0.0, self._night, self._off)
            if wake > due:  # no water at night proves nothing: judge again by the morning's line
                morning = self._line(h.water, wake, h.born)
                due = wake + (morning if morning is not None else nu.window_hours) * HOUR
        else:  # a young home: its waking line, from the morning if begun at night
            wake = waking_deadline(judged, 0.0, self._night, self._off)
            young = self._young_line(h.water, wake, h.born)
            due = None if young is None else wake + max(young,
                                                        self._usual_outing(p, wake)) * HOUR
        if due is not None:
            due = max(due, self._after_habit(h, judged))
        if due is not None and due < fixed:
            plans.append(_Plan(due, "no_usage", seen, "learned", (due - judged) / HOUR))
        return min(plans, key=lambda x: x.due)

    def _home_next(self, house: str, h: _Home) -> float | None:
        if h.nu_sev:
            steps = self._home_steps(h)
            return steps[0][0] if steps else None
        if h.waiting_meter or h.held:
            return None
        plan = self._water_plan(h)
        return plan.due if plan else None

    def _home_steps(self, h: _Home) -> list[tuple[float, str]]:
        nu = self.config.no_usage
        return sorted((h.nu_start + hours * HOUR, sev) for hours, sev in
                      ((nu.orange_hours, "orange"), (nu.red_hours, "red"))
                      if SEVERITY_RANK[sev] > SEVERITY_RANK[h.nu_sev])

    def _home_overdue(self, house: str, h: _Home, t: float, out: list[Decision]) -> None:
        if not h.nu_sev and h.queued and t > h.queued:
            plan = self._water_plan(h)
            if plan is not None and plan.due < t:
                self._home_fire(house, h, plan, plan.due, out)

    def _home_due(self, house: str, due: float, out: list[Decision]) -> None:
        h = self.homes.get(house)
        if h is None or h.queued != due:
            return
        h.queued = 0.0
        if h.nu_sev:
            steps = self._home_steps(h)
            if steps and steps[0][0] <= due:
                self._home_raise(house, h, steps[0][1], steps[0][0], {}, out)
        else:
            plan = self._water_plan(h)
            if plan is not None and plan.due <= due:
                self._home_fire(house, h, plan, plan.due, out)
        self._schedule(HOME, house, h.queued, self._home_next(house, h))

    def _home_fire(self, house: str, h: _Home, plan: _Plan, t: float,
                   out: list[Decision]) -> None:
        """No water since ``plan.start``: alert unless the resident's situation explains it."""
        p = self.persons[h.pid]
        if self._held(h, p):
            h.held = True  # a stay_in/absence covers this, or they are out: judged on return
            return
        if h.last_read < plan.due:
            h.waiting_meter = True  # the meter proves no use only up to its last reading
            return
        if self._supply_off(house, h, t):
            h.supply_t = max(h.supply_t, t)  # dry for the grid's reason: judged from now
            return
        nu = self.config.no_usage
        h.nu_start, h.nu_t = plan.start, t
        h.nu_sev = _severity_hours(nu.severity, t - plan.start, nu.orange_hours, nu.red_hours)
        h.nu_evidence = {"last_water_use": self._iso(h.use_last) if h.use_last > -INF else None,
                         "rule": plan.how, "threshold_hours": round(plan.limit_h, 1),
                         "window_m3": nu.volume_m3}
        if h.supply_t > plan.start:  # the threshold counted from the grid's water coming back
            h.nu_evidence["grid_water_off_at"] = self._iso(h.supply_t)
        out.append(self._home_decision(house, h, "firing", t, {}))

    def _held(self, h: _Home, p: _Person) -> bool:
        """The resident's own episode or outing covers the water's silence: one situation,
        one alert. Not a stay_in whose silence a motion sensor still saw faintly (lone
        motions): a fall in its view or a sick bed, the water's alert goes too."""
        if p.confirm or p.where == OUT:
            return True
        return bool(p.ep_kind) and not (p.ep_kind == "stay_in" and h.faint_t > p.ep_start)

    def _home_wake(self, house: str, h: _Home, t: float, out: list[Decision]) -> None:
        """The meter reports again (no use): judge the silence it proves."""
        h.waiting_meter = False
        plan = self._water_plan(h)
        if plan is not None and plan.due <= t:
            self._home_fire(house, h, plan, t, out)
        self._schedule(HOME, house, h.queued, self._home_next(house, h))

    def _home_catch_up(self, house: str, h: _Home, t: float, out: list[Decision]) -> None:
        for when, sev in self._home_steps(h):
            if when < t:
                self._home_raise(house, h, sev, when, {}, out)

    def _home_raise(self, house: str, h: _Home, sev: str, t: float, extra: dict[str, Any],
                    out: list[Decision]) -> None:
        if SEVERITY_RANK[sev] <= SEVERITY_RANK[h.nu_sev]:
            return
        h.nu_sev = sev
        h.nu_evidence.update(extra)
        out.append(self._home_decision(house, h, "firing", t, {}))

    # ------------------------------------------------------------ time
    def _schedule(self, kind: int, key: str, queued: float, due: float | None) -> None:
        if due is None or (queued and queued <= due):
            return
        state = self.persons[key] if kind == PERSON else self.homes[key]
        state.queued = due
        heapq.heappush(self.heap, (due, kind, key))

    def next_due(self) -> float:
        """The heap's earliest entry: ``advance`` before it pops nothing (stale entries
        only make this earlier, never later)."""
        return self.heap[0][0] if self.heap else INF

    def advance(self, watermark: float) -> list[Decision]:
        out: list[Decision] = []
        while self.heap and self.heap[0][0] < watermark:  # a sign at the deadline wins
            due, kind, key = heapq.heappop(self.heap)
            if kind == PERSON:
                self._person_due(key, due, out)
            else:
                self._home_due(key, due, out)
        return out

    # ------------------------------------------------------------ decisions
    def _iso(self, t: float) -> str:
        return iso(t, self._tz)

    def _person_evidence(self, p: _Person, plan: _Plan) -> dict[str, Any]:
        ev: dict[str, Any] = {"last_seen": self._iso(p.last_seen),
                              "last_pass": self._iso(p.last_pass) if p.last_pass > -INF else None,
                              "last_direction": p.last_dir or None,
                              "rule": plan.how, "threshold_hours": round(plan.limit_h, 1)}
        if plan.kind == "out_no_return":
            # how often this person's returns went unrecorded: a dispatcher's reason to call
            # the family before searching (most false wanders are returns no reader saw)
            ev["left_at"] = self._iso(p.out_since)
            ev["earlier_outings"] = p.returns + p.unseen
            ev["earlier_returns_unrecorded"] = p.unseen
        h = self.homes.get(p.house or "")
        if h is not None:
            ev["home_activity_attributable"] = True
            ev["devices_heard"] = self._iso(h.heard) if h.heard > -INF else None
            ev["last_water_use"] = self._iso(h.use_last) if h.use_last > -INF else None
        return ev

    def _person_decision(self, pid: str, p: _Person, status: str, t: float,
                         extra: dict[str, Any]) -> Decision:
        evidence = {**p.ep_evidence, "hours": round((t - p.ep_start) / HOUR, 1), **extra}
        return self.decision(p.ep_kind, "person", pid, status, p.ep_sev,  # type: ignore[arg-type]
                             p.ep_start, t, evidence, self.registry.person_grid(pid))

    def _home_decision(self, house: str, h: _Home, status: str, t: float,
                       extra: dict[str, Any]) -> Decision:
        evidence = {**h.nu_evidence, "hours": round((t - h.nu_start) / HOUR, 1),
                    "person_id": h.pid, **extra}
        return self.decision("no_usage", "house", house, status, h.nu_sev,  # type: ignore[arg-type]
                             h.nu_start, t, evidence, self.registry.house_grid(house))


def _combine(rules: list[TagRule]) -> TagRule | None:
    """The most protective rule of several tags: shortest hours, highest severity."""
    if not rules:
        return None

    def least(name: str) -> float | None:
        values = [v for r in rules if (v := getattr(r, name)) is not None]
        return min(values) if values else None

    return TagRule(watch=True, stay_in_hours=least("stay_in_hours"),
                   out_hours=least("out_hours"), absent_hours=least("absent_hours"),
                   absent_after_in=any(r.absent_after_in for r in rules),
                   severity=max((r.severity for r in rules), key=SEVERITY_RANK.get),
                   orange_hours=least("orange_hours"), red_hours=least("red_hours"))


def _severity(rule: TagRule, silence_s: float) -> str:
    return _severity_hours(rule.severity, silence_s, rule.orange_hours, rule.red_hours)


def _severity_hours(base: str, silence_s: float, orange: float | None,
                    red: float | None) -> str:
    sev = base
    for hours, level in ((orange, "orange"), (red, "red")):
        if hours is not None and silence_s >= hours * HOUR and \
                SEVERITY_RANK[level] > SEVERITY_RANK[sev]:
            sev = level
    return sev
