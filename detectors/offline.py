"""``device_offline``: a device went silent past a multiple of its own reporting interval.

Each device learns two clocks from the data: its data reports and its
``heartbeat`` messages. A clock whose inter-arrivals are regular is periodic;
an irregular one belongs to an event-driven sensor (a door, a cupboard
switch), whose silence means nobody used it. A device is judged by its live
periodic clock allowing the shortest silence, and a device with none —
event-driven and no heartbeat — is never judged. Any message proves liveness.
The silence allowed is ``factor`` intervals, longer for a clock that loses
many reports (after Hayashibara's φ accrual failure detector), and longer at
the hours of the day when the device has fallen silent by itself before
(*quiet hours*): a meter that reports only when water runs sleeps through
every night, and a night's silence seen twice at that hour is its habit, not
a fault.

Deadlines sit in a heap with lazy invalidation: a device holds one entry;
when it falls due and the device has spoken since, the entry is pushed to the
new deadline. ``advance`` therefore costs what falls due, not the population.

Many devices of one building falling silent together is a power or network
cut, not many broken sensors: when a device of a building falls due we wait
``group_delay_s``, then count that building's devices — silent (past due or
long overdue), heard since the silence began, or undecided (a slow clock not
due yet). Enough silent ones make one ``building`` finding listing its members,
whose own alerts are suppressed; otherwise each device fires on its own.
"""

from __future__ import annotations

import heapq
import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from config.iot import DeviceOfflineConfig
from detectors.base import Decision, DetectorBase, restore_slots
from detectors.routine import hour_index
from gridwatch.events import Event, Iot
from gridwatch.registry import Registry

HOUR = 3600.0
OK, DUE, FIRED, MUTED = 0, 1, 2, 3  # DUE: waiting for its building's verdict
SCHEDULE_RATE = 0.02  # irregularity remembers ~50 reports
LOSS_RATE = 0.005  # the loss rate ~200 (a week of hourly reports): rare events need many
REF_TAU_S = 2 * 86400.0
PRIOR_LOSS = 0.01  # worth PRIOR_REPORTS reports: typical of LPWAN links
PRIOR_REPORTS = 5
RING = 7  # inter-arrivals kept for the interval
MAX_FACTOR = 12.0
QUIET_SLOTS = 3.0  # a gap of this many intervals is a quiet spell worth remembering
QUIET_UNIT_S = 600.0  # quiet spells kept in 10-minute units, one byte each (40 h at most)
QUIET_FADE = 0.97  # per day: a habit not seen for a month weighs under half
OVERDUE = 1.5  # at a building verdict, a device silent this many intervals counts as silent
AMOUNTS_KEPT = 255  # enough to tell; the count stops there
HEAL_UNIT_S = 1800.0  # healed silences kept in half-hour bins
HEAL_FADE = 0.97  # per day, as quiet hours: a month-old blip weighs under half
MONTH_DAYS = 30.0
HEAL_MIN = 20.0  # healed silences before a fleet habit is read: one device's are its quiet hours
DEVICE, BUILDING = 0, 1


@dataclass(slots=True)
class _Clock:
    """One stream's schedule: interval, irregularity and share of lost reports.

    A low quantile of the last seven inter-arrivals ignores lost reports and
    outages yet follows a slower cadence within five reports. Messages closer
    than half the interval followed over days (``ref``) to the last report are
    extras between reports (an alarm sending every 30 s, hours of a hovering
    reading) and do not teach the schedule. Irregularity is the mean distance
    of an inter-arrival from the interval — or from its nearest multiple when
    reports were evidently lost — relative to the interval, with a long memory:
    periodic clocks sit at 0.04–0.08 even losing 30 % of their reports, Poisson
    arrivals at ≥ 0.3, a door opened twice a day at 0.21–0.24.
    """

    t: float
    first: float
    ring: array = field(default_factory=lambda: array("f", bytes(4 * RING)))
    iv: float = 0.0
    ref: float = 0.0  # the interval followed over days: what "too close" is judged by
    dev: float = 0.0
    loss: float = PRIOR_LOSS
    n: int = 0

    __setstate__ = restore_slots

    def tick(self, t: float, same_s: float, silent: bool) -> None:
        dt = t - self.t
        if dt < same_s or dt <= 0:
            return  # part of the same report, or older than the newest one
        if self.n >= 3 and dt < self.ref / 2:
            return  # hours of fast reports (a gas alarm, a hovering reading) are not a cadence
        self.t = t
        if self.n and not silent:  # a silence we judged says nothing about the schedule
            rel = dt / self.iv
            slots = round(rel)
            lost = slots - 1 if rel >= 1.5 and abs(rel - slots) < 0.25 else 0
            off = abs(rel - slots) if lost else min(abs(rel - 1.0), 2.0)
            rate = max(SCHEDULE_RATE, 1.0 / self.n)
            self.dev += rate * (off - self.dev)
            # lost reports per expected report: a ratio, so weigh each arrival by its slots
            lost = min(lost, 4)
            rate = max(LOSS_RATE, 1.0 / (self.n + PRIOR_REPORTS))
            self.loss += rate * (lost - self.loss * (lost + 1))
        ring, n = self.ring, self.n + 1
        ring[self.n % RING] = dt  # a judged silence too: a slower cadence is learned
        self.n = n
        self.iv = _lower_third(ring if n >= RING else ring[:n])
        if self.n == 1:
            self.ref = dt
        elif not silent:  # follows the interval over days, not hours
            self.ref *= (self.iv / self.ref) ** (1.0 - math.exp(-dt / REF_TAU_S))


@dataclass(slots=True)
class _Fleet:
    """The devices of one grid (a compound's NB-IoT cell, its gateways): the silences
    they ended by themselves, by length in half hours, fading per day. A grid is wholly
    on one partition, so live and replay pool the same devices."""

    healed: list[float]
    day: int = -1  # local day of the last fading
    since: int = -1  # local day its first device was judged: the rate's exposure
    devices: int = 0  # devices judged
    grace: float = 0.0  # its healing silence, once their rate is reached

    __setstate__ = restore_slots


@dataclass(slots=True)
class _Device:
    last: float  # newest message of any kind
    anchor: float  # silence is measured from here: ``last``, or a building's return
    data: _Clock | None = None
    hb: _Clock | None = None
    queued: float = 0.0  # due time of this device's live heap entry (0: none)
    status: int = OK
    due_t: float = 0.0
    safety: bool = False
    building: str | None = None  # "building@grid" once judged
    armed: bool = False
    quiet: array | None = None  # per local start hour: longest, then second-longest gap
    qday: int = -1  # local day of the quiet hours' last fading
    amounts: int = 0  # readings of a use metric (``use_metrics``), at most AMOUNTS_KEPT
    idle: bool = False  # one of them was zero: it reports when nothing was used, too
    fleet: _Fleet | None = None  # its grid's, once judged

    __setstate__ = restore_slots  # a checkpoint from before a field existed still restores


@dataclass(slots=True)
class _Building:
    building_id: str
    grid_id: str | None
    devices: list[str] = field(default_factory=list)  # judged devices, for the census
    pending: list[str] = field(default_factory=list)
    first_due: float = 0.0
    members: set[str] = field(default_factory=set)
    silent: int = 0
    open_start: float | None = None
    outage_t: float = -math.inf  # start of its latest outage

    __setstate__ = restore_slots


class DeviceOffline(DetectorBase):
    """Fire when a device is silent past ``factor`` learned intervals; resolve when it speaks.

    Examples
    --------
    An hourly meter goes quiet after its report at hour 30; a door contact
    with no heartbeat is never judged, however long nobody opens it.

    >>> from gridwatch.events import Iot
    >>> det = DeviceOffline(DeviceOfflineConfig(), Registry())
    >>> for h in range(31):
    ...     _ = det.observe(Iot(f"w{h}", h * 3600.0, "wm-1", "water", 0.01))
    ...     _ = det.observe(Iot(f"d{h}", h * 3000.0 + h * h * 97.0, "dr-1", "door", 1.0))
    >>> [(d.subject_id, d.start / 3600, d.t / 3600) for d in det.advance(90 * 3600.0)]
    [('wm-1', 30.0, 33.5)]
    >>> [(d.status, d.t / 3600) for d in det.observe(Iot("w99", 95 * 3600.0, "wm-1", "water", 0.2))]
    [('resolved', 95.0)]
    """

    name = "device_offline"
    version = "1"
    streams = frozenset({"iot"})
    observe_filters = True
    _not_state = ("config", "registry", "_events", "_safety", "_use", "_calm_loss",
                  "_calm_factor", "_min_reports", "_min_history_s", "_max_irregularity",
                  "_queued_bound", "_quiet", "_off", "_quiet_max")

    def __init__(self, config: DeviceOfflineConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self._events = frozenset(config.event_metrics)
        self._safety = frozenset(config.safety_metrics)
        self._use = frozenset(config.use_metrics)
        self._calm_loss = _calm_loss(config)
        self._calm_factor = min(config.factor, MAX_FACTOR)
        # what ``_silence`` asks two or three times per reading, read once
        self._min_reports = config.min_reports
        self._min_history_s = config.min_history_s
        self._max_irregularity = config.max_irregularity
        self._quiet = config.quiet_hours
        self._off = config.utc_offset_h * HOUR
        self._quiet_max = config.quiet_max_h * HOUR
        # A device's queued heap entry is never later than its deadline (see _overdue);
        # true of the state this object built under its own config, so a restore, which
        # may bring state built under another (a reload), turns the shortcut off.
        self._queued_bound = True
        self.devices: dict[str, _Device] = {}
        self.buildings: dict[str, _Building] = {}
        self.heap: list[tuple[float, int, str]] = []
        self.fleets: dict[str, _Fleet] = {}  # by grid

    def shard_key(self, event: Event) -> str | None:
        if not isinstance(event, Iot) or not self.config.enabled:
            return None
        return self.registry.device_grid(event.device_id) or event.device_id

    # ------------------------------------------------------------ events
    def observe(self, event: Event) -> list[Decision]:
        if not isinstance(event, Iot) or not self.config.enabled:
            return []
        key, t = event.device_id, event.t
        d = self.devices.get(key)
        if d is None:
            d = self.devices[key] = _Device(last=t, anchor=t)
        d.safety = d.safety or event.metric in self._safety
        out = self._overdue(key, d, t)
        self._tick(d, event)
        if t > d.last:
            if d.status != OK:
                out += self._back(key, d, event)
            d.last, d.anchor = t, max(d.anchor, t)
        self._schedule(key, d)
        return out

    def _overdue(self, key: str, d: _Device, t: float) -> list[Decision]:
        """A report from past the device's deadline that the watermark has not reached.

        Silence past the deadline is a fact in event time, whether ``advance``
        saw it first (then this report resolves) or this report did: the
        outcome must not depend on how often the watermark moved.
        """
        if d.status != OK or t <= d.last or t <= d.anchor + self.config.min_silence_s:
            return []  # (no deadline falls sooner than min_silence_s after the anchor)
        if self._queued_bound and d.queued != 0.0 and t <= d.queued:
            # Not past the deadline, which is no sooner than the queued entry: every change
            # that can bring a deadline forward (a clock's tick, a return) is followed by
            # _schedule, which queues the sooner one; advance requeues the exact one.
            return []
        judged = self._interval(d)
        if judged is None:
            return []
        deadline = self._deadline(d, judged[0])
        if t <= deadline:
            return []
        b = self.buildings.get(d.building) if d.building else None
        if b is not None and len(b.devices) >= self.config.building_min_devices and (
                b.open_start is not None or t - deadline <= self.config.group_delay_s):
            return []  # a member of an outage, or back before its building was judged
        d.due_t, d.status = deadline, FIRED
        return [self._device_decision(key, d, "firing", deadline)]

    def restore(self, blob: bytes) -> None:
        super().restore(blob)
        self._queued_bound = False  # queued under another config, maybe (see __init__)
        if not self.fleets:  # a checkpoint from before them (or none yet): place the devices
            for key, d in self.devices.items():
                if d.armed:
                    self._join_fleet(key, d)

    def _tick(self, d: _Device, ev: Iot) -> None:
        # a gap we judged, or one spanning its building's outage, is not the device's own loss
        b = self.buildings.get(d.building) if d.building else None
        outage = b.outage_t if b is not None else -math.inf
        if ev.t > d.last:
            clock = d.data or d.hb
            long_gap = clock is not None and ev.t - d.last >= QUIET_SLOTS * clock.iv
            if long_gap and outage <= d.last:  # (a building's cut is its own finding)
                self._learn_healing(d, ev.t)
            if self._quiet and long_gap:
                self._learn_quiet(d, ev.t)
            elif self._quiet and d.quiet is not None:
                self._fade_quiet(d, ev.t)
        if ev.metric == self.config.heartbeat_metric:
            if d.hb is None:
                d.hb = _Clock(ev.t, ev.t)
            else:
                d.hb.tick(ev.t, self.config.same_report_s, d.status != OK or outage > d.hb.t)
        elif ev.metric not in self._events:
            if ev.metric in self._use and d.amounts < AMOUNTS_KEPT:
                d.amounts += 1
                d.idle = d.idle or ev.value == 0.0
            if d.data is None:
                d.data = _Clock(ev.t, ev.t)
            else:
                d.data.tick(ev.t, self.config.same_report_s,
                            d.status != OK or outage > d.data.t)

    def _back(self, key: str, d: _Device, ev: Iot) -> list[Decision]:
        """The device spoke again: close its own episode, or count it back into its building."""
        status, d.status = d.status, OK
        if status == FIRED:
            return [self._device_decision(key, d, "resolved", ev.t)]
        if status != MUTED or d.building is None:
            return []  # DUE: it came back before its building's verdict
        b = self.buildings[d.building]
        b.silent -= 1
        if 2 * b.silent >= len(b.members):
            return []
        decision = self._building_decision(b, "resolved", ev.t)
        for member in b.members:  # the rest get a fresh deadline from the building's return
            m = self.devices[member]
            if m.status == MUTED:
                m.status, m.anchor = OK, max(m.anchor, ev.t)
                self._schedule(member, m)
        for k in b.devices:  # a slow clock silent since before the cut, not yet due, lost
            m = self.devices[k]  # beats to it: the cut's length does not count as its silence
            if m.status == OK and m.last <= b.open_start:  # (the heap entry is pushed on lazily)
                m.anchor = max(m.anchor, m.last + ev.t - b.open_start)
        b.members, b.silent, b.open_start = set(), 0, None
        return [decision]

    def _learn_quiet(self, d: _Device, t: float) -> None:
        """The device spoke after a long gap: note it under its start hour and both neighbours
        (a bedtime moves by an hour), keeping each hour's two longest.

        Any gap the device ended counts, alerted or not, its building's outages too: a
        meter asleep every night is alerted on at most twice, then its nights are known
        (and a building of such meters is not "cut off" every night). One fault at an hour
        teaches nothing: only the shorter of the hour's two longest gaps is used.
        """
        clocks = [c.iv for c in (d.data, d.hb) if c is not None and c.n]
        gap = t - d.last
        if not clocks or gap < QUIET_SLOTS * min(clocks) or gap > self._quiet_max:
            return
        q = d.quiet
        if q is None:
            q = d.quiet = array("B", bytes(48))
        self._fade_quiet(d, d.last)
        units = int(gap / QUIET_UNIT_S)
        hod = hour_index(d.last, self._off) % 24
        for k in (hod - 1, hod, hod + 1):
            k %= 24
            if units > q[k]:
                q[k], q[24 + k] = units, q[k]
            elif units > q[24 + k]:
                q[24 + k] = units

    def _learn_healing(self, d: _Device, t: float) -> None:
        """A silence past the device's own deadline that it ended by itself within
        ``quiet_max_h``: one more sign of how this fleet's network behaves.

        Judged by the device's own deadline (its clocks and quiet hours), not the
        fleet's grace, so the grace does not hide the blips that set it.
        """
        f = d.fleet
        if f is None or not self.config.healing_rate or t - d.last > self._quiet_max:
            return
        judged = self._interval(d)
        if judged is None or t <= self._deadline(d, judged[0], own=True):
            return
        day = hour_index(t, self._off) // 24
        if day > f.day >= 0:
            fade = HEAL_FADE ** (day - f.day)
            f.healed = [x * fade for x in f.healed]
        f.day = max(f.day, day)
        f.healed[min(int((t - d.last) / HEAL_UNIT_S), len(f.healed) - 1)] += 1.0
        grace = self._healing_grace(f)
        if grace and f.grace:  # while blips keep coming the figure only grows: deadlines
            grace = max(grace, f.grace)  # do not wobble, and none moves before its heap entry
        elif f.grace:
            self._queued_bound = False  # they stopped: deadlines sooner than queued (_overdue)
        f.grace = grace

    def _healing_grace(self, f: _Fleet) -> float:
        """The silence ``healing_quantile`` of healed ones ended within, once they come at
        ``healing_rate`` per device and month (their fading sum over the days it spans,
        faded alike) and number ``HEAL_MIN``; 0 before: this fleet's silences are faults,
        judged device by device."""
        total = sum(f.healed)
        days = (1.0 - HEAL_FADE ** (f.day - max(f.since, 0) + 1)) / (1.0 - HEAL_FADE)
        if total < HEAL_MIN or total * MONTH_DAYS / days < self.config.healing_rate * f.devices:
            return 0.0
        need, acc = self.config.healing_quantile * total, 0.0
        for k, x in enumerate(f.healed):
            acc += x
            if acc >= need:
                return (k + 1) * HEAL_UNIT_S
        return len(f.healed) * HEAL_UNIT_S

    def _fade_quiet(self, d: _Device, t: float) -> None:
        day = hour_index(t, self._off) // 24
        if d.quiet is None or day <= d.qday:
            return
        if d.qday >= 0:
            f, q = QUIET_FADE ** (day - d.qday), d.quiet
            for k in range(48):
                q[k] = int(q[k] * f + 0.5)
        d.qday = day

    def _quiet_gap(self, d: _Device) -> float:
        """How long the device may be silent now: its usual quiet spell at this hour times
        ``quiet_margin``, at most a night (0: no habit)."""
        if d.quiet is None:
            return 0.0
        return min(self._quiet_spell(d) * self.config.quiet_margin, self._quiet_max)

    def _quiet_spell(self, d: _Device) -> float:
        """The shorter of the two longest silences the device began near this hour before."""
        assert d.quiet is not None
        return d.quiet[24 + hour_index(d.last, self._off) % 24] * QUIET_UNIT_S

    # ------------------------------------------------------------ deadlines
    def _interval(self, d: _Device) -> tuple[float, float, str] | None:
        """The live periodic clock allowing the shortest silence: (silence, interval, name).

        A clock is live unless the device spoke after that clock's own deadline (a
        smoke detector whose only ``smoke`` readings were one alarm, then heartbeats).
        Asked two or three times per reading, so the two clocks are written out.
        """
        data = None if self._on_use(d) else self._silence(d.data, d.last)
        hb = self._silence(d.hb, d.last)
        if hb is None:
            return None if data is None else (data, d.data.iv, "data")  # type: ignore[union-attr]
        if data is None or hb < data:
            return hb, d.hb.iv, "heartbeat"  # type: ignore[union-attr]
        return data, d.data.iv, "data"  # type: ignore[union-attr]

    def _on_use(self, d: _Device) -> bool:
        """A meter that reports an amount only when one was used: its silence is no use.

        A meter reading on a schedule says "nothing used" too, and every home has
        idle hours (the night): among its amounts are zeros. One whose amounts are
        never zero and whose reports miss many of their slots (more than the calm
        loss that keeps ``factor``) reads only when water ran; the night's gap is
        nobody at the tap, however its bedtime moves, so its heartbeat judges it
        (quiet hours caught most such meters, not those whose bedtime wanders by
        hours). A meter that never reads zero but seldom misses a slot (a building's
        main, a leaking cistern) keeps its schedule.
        """
        return (not d.idle and d.amounts >= self._min_reports and d.data is not None
                and self._factor(d.data) != self._calm_factor)

    def _silence(self, clock: _Clock | None, last: float) -> float | None:
        """The silence ``clock`` allows, or ``None`` if it is not a live periodic clock."""
        if clock is None or clock.t - clock.first < self._min_history_s \
                or clock.dev > self._max_irregularity \
                or (clock.n < self._min_reports and not self._exact(clock)):
            return None
        factor = self._factor(clock)
        if factor is None:
            return None  # too lossy to be a schedule (a meter reporting only on use)
        silence = factor * clock.iv
        if clock.t + silence < last:
            return None  # this stream stopped while the device kept speaking: not liveness
        return silence

    def _exact(self, clock: _Clock) -> bool:
        """A young clock whose every inter-arrival so far is within ``early_tolerance`` of
        its interval: a device's own timer (a heartbeat), judged before ``min_reports``.
        Otherwise a device that dies in its first days (a daily heartbeat's sixth) is
        never judged, and never found."""
        n, iv = clock.n, clock.iv
        if n < self.config.early_reports:
            return False
        tol = self.config.early_tolerance * iv
        return all(abs(x - iv) <= tol for x in clock.ring[:n])

    def _factor(self, clock: _Clock) -> float | None:
        """Reports missed before a deadline: enough that lost reports alone reach it with
        probability ``max_false_rate`` at the clock's own loss rate (3.5 for 1 % loss);
        ``None`` when more than ``MAX_FACTOR`` would be needed (over ~31 % of slots empty):
        such a clock is no schedule — a meter that reports only when used, on its 15-minute
        slots, sleeps through the night — and only another clock (a heartbeat) judges it.

        Most clocks lose fewer reports than that, and then the answer is the configured
        ``factor`` without two logarithms (``_calm_loss`` keeps a margin, so the result
        is the same float either way)."""
        if clock.loss < self._calm_loss:
            return self._calm_factor
        loss = min(max(clock.loss, 0.001), 0.5)
        needed = math.log(self.config.max_false_rate) / math.log(loss) + 0.5
        return None if needed > MAX_FACTOR else min(max(self.config.factor, needed), MAX_FACTOR)

    def _deadline(self, d: _Device, silence: float, own: bool = False) -> float:
        """From the anchor, the device's own silence (clocks, quiet hours), or the fleet's
        healing silence if longer (``own``: without it)."""
        if d.quiet is not None:
            silence = max(silence, self._quiet_gap(d))
        if not own and d.fleet is not None:
            silence = max(silence, d.fleet.grace)
        return d.anchor + max(silence, self.config.min_silence_s)

    def _schedule(self, key: str, d: _Device) -> None:
        if d.status != OK:
            return
        judged = self._interval(d)
        if judged is None:
            return
        if not d.armed:
            self._arm(key, d)
        due = self._deadline(d, judged[0])
        if d.queued == 0.0 or due < d.queued:
            d.queued = due
            heapq.heappush(self.heap, (due, DEVICE, key))

    def _arm(self, key: str, d: _Device) -> None:
        d.armed = True
        self._join_fleet(key, d)
        building = self.registry.building_of_device(key)
        if building is None:
            return
        grid = self.registry.device_grid(key)
        d.building = f"{building}@{grid}"
        b = self.buildings.get(d.building)
        if b is None:
            b = self.buildings[d.building] = _Building(building, grid)
        b.devices.append(key)

    def _join_fleet(self, key: str, d: _Device) -> None:
        """Into its grid's fleet; a device the registry places in no grid has none (a
        fleet of one is its quiet hours' business)."""
        grid = self.registry.device_grid(key)
        if grid is None:
            return
        f = self.fleets.get(grid)
        if f is None:
            f = self.fleets[grid] = _Fleet([0.0] * (int(self._quiet_max / HEAL_UNIT_S) + 1),
                                           since=hour_index(d.last, self._off) // 24)
        f.devices += 1
        d.fleet = f

    def next_due(self) -> float:
        """The heap's earliest entry (stale ones included: popping them is ``advance``'s)."""
        return self.heap[0][0] if self.heap else math.inf

    def advance(self, watermark: float) -> list[Decision]:
        out: list[Decision] = []
        while self.heap and self.heap[0][0] <= watermark:
            due, kind, key = heapq.heappop(self.heap)
            if kind == DEVICE:
                self._device_due(due, key, out)
            else:
                self._flush(due, key, out)
        return out

    def _device_due(self, due: float, key: str, out: list[Decision]) -> None:
        d = self.devices.get(key)
        if d is None or d.queued != due:
            return  # superseded by an earlier entry
        d.queued = 0.0
        judged = self._interval(d)
        if d.status != OK or judged is None:
            return
        deadline = self._deadline(d, judged[0])
        if deadline > due:  # it spoke since: wait for the new deadline
            d.queued = deadline
            heapq.heappush(self.heap, (deadline, DEVICE, key))
            return
        d.due_t = deadline
        b = self.buildings.get(d.building) if d.building else None
        if b is None or len(b.devices) < self.config.building_min_devices:
            d.status = FIRED
            out.append(self._device_decision(key, d, "firing", deadline))
        elif b.open_start is not None:
            d.status = MUTED
            b.members.add(key)
            b.silent += 1
        else:
            d.status = DUE
            b.pending.append(key)
            if len(b.pending) == 1:
                b.first_due = deadline
                heapq.heappush(self.heap, (deadline + self.config.group_delay_s, BUILDING,
                                           key_of(b)))

    # ------------------------------------------------------------ buildings
    def _flush(self, now: float, bkey: str, out: list[Decision]) -> None:
        """The grouping delay is over: one building finding, or each device on its own."""
        b = self.buildings[bkey]
        pending = [k for k in b.pending if self.devices[k].status == DUE]
        b.pending = []
        if not pending:
            return
        silent, alive = self._census(b, now)
        cfg = self.config
        if len(silent) >= cfg.building_min_devices and \
                len(silent) >= cfg.building_fraction * (len(silent) + alive):
            b.members, b.silent = set(silent), len(silent)
            b.open_start = b.outage_t = max(self.devices[k].last for k in silent)
            for k in silent:
                self.devices[k].status = MUTED
            out.append(self._building_decision(b, "firing", b.first_due, alive))
            return
        for k in pending:
            d = self.devices[k]
            d.status = FIRED
            out.append(self._device_decision(k, d, "firing", d.due_t))

    def _census(self, b: _Building, now: float) -> tuple[list[str], int]:
        """Silent devices of a building, and how many were heard after the silence began.

        A device asleep in its quiet hours is not counted silent: a building of meters
        that report only on use must not look cut off at night.
        """
        silent: list[str] = []
        for k in b.devices:
            d = self.devices[k]
            judged = self._interval(d)
            if d.status == DUE or (d.status == OK and judged is not None and now - d.anchor
                                   > max(OVERDUE * judged[1], self._quiet_gap(d))):
                silent.append(k)
        if not silent:
            return silent, 0
        began = max(self.devices[k].last for k in silent)
        alive = sum(1 for k in b.devices
                    if self.devices[k].status == OK and self.devices[k].last > began
                    and k not in silent)
        return silent, alive

    # ------------------------------------------------------------ decisions
    def _device_decision(self, key: str, d: _Device, status: str, t: float) -> Decision:
        judged = self._interval(d)
        silence, iv, by = judged if judged is not None else (0.0, 0.0, "data")
        severity = self.config.safety_severity if d.safety else self.config.severity
        evidence: dict[str, Any] = {
            "silent_hours": round((d.due_t - d.last) / HOUR, 2),
            "expected_interval_h": round(iv / HOUR, 3),
            "factor": round(silence / iv, 2) if iv else self.config.factor, "judged_by": by,
        }
        quiet = self._quiet_gap(d) if status == "firing" else 0.0
        if quiet > max(silence, self.config.min_silence_s):  # its habit set the deadline
            evidence["usual_quiet_h"] = round(self._quiet_spell(d) / HOUR, 2)
        grace = d.fleet.grace if d.fleet is not None else 0.0
        if status == "firing" and grace > max(silence, quiet):
            evidence["fleet_heals_within_h"] = round(grace / HOUR, 2)
        if status == "resolved":
            evidence["offline_hours"] = round((t - d.last) / HOUR, 2)
        return self.decision("device_offline", "device", key, status, severity,  # type: ignore[arg-type]
                             d.last, t, evidence, self.registry.device_grid(key))

    def _building_decision(self, b: _Building, status: str, t: float,
                           alive: int = 0) -> Decision:
        assert b.open_start is not None
        evidence: dict[str, Any] = {
            "members": sorted(b.members), "silent_devices": b.silent,
            "devices_heard_since": alive, "devices_known": len(b.devices),
        }
        return self.decision("device_offline", "building", b.building_id, status,  # type: ignore[arg-type]
                             self.config.building_severity, b.open_start, t, evidence,
                             b.grid_id)


def _calm_loss(config: DeviceOfflineConfig) -> float:
    """The loss rate below which ``_factor`` is the configured ``factor`` itself.

    ``needed`` reaches ``factor`` at ``max_false_rate ** (1 / (factor - 0.5))``; a
    relative margin of 1e-6, far above rounding error, keeps every loss below the
    returned bound on the side where ``max(factor, needed)`` is ``factor``. Below
    the 0.001 clamp the shortcut is off (``-inf``): the clamp would move the loss.
    """
    bound = config.max_false_rate ** (1.0 / (config.factor - 0.5)) * (1.0 - 1e-6)
    return bound if bound > 0.001 else -math.inf


def key_of(b: _Building) -> str:
    return f"{b.building_id}@{b.grid_id}"


def _lower_third(values: array) -> float:
    """The interval: lost reports only lengthen gaps, so a low quantile (3rd of 7) shrugs
    off four lost-report gaps in seven, where a median would double after four."""
    return sorted(values)[(len(values) - 1) // 3]


def buildings_across_grids(registry: Registry) -> dict[str, list[str]]:
    """Buildings whose houses lie in more than one grid.

    Building outages are grouped per grid (the partition key), so such a
    building would give one finding per grid. Our registry model and the
    simulator keep a building within one grid; this check says if a real
    registry does not.
    """
    grids: dict[str, set[str]] = {}
    for house in registry.houses.values():
        if house.building_id:
            grids.setdefault(house.building_id, set()).add(house.grid_id)
    return {b: sorted(g) for b, g in grids.items() if len(g) > 1}
