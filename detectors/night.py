"""``unusual_hours`` (昼伏夜出): a person active, night after night, when they usually sleep.

Each person has a decayed 24-bin profile of passes by local hour (their
history) and a ring of the last ``window_days`` + 2 days of hourly pass
counts (the recent window, and room for days still open). A day runs from
``night_end_hour`` to the next, so one night is never split.

The profile, blended with the grid population's as a weak prior, marks the
person's *quiet night hours*: hours of the night window that are rare for
them (under ``rare_hour_share`` of their passes), as are the
``quiet_before_h`` hours before and ``quiet_after_h`` after — the core of
their usual sleep: for a day worker the small hours, for a night-shift
worker none of their working night. A
*night day* has a pass in a quiet night hour, or an outing through one (out
before it, back after it: a night out has its passes at its edges). When the
watermark passes a
day's end, the persons active that day (and those with an open episode) are
judged: ``min_night_days`` night days in the window, improbable at the
person's own rate of night days (binomial tail ≤ ``alpha``), with a night
share of passes above the usual one. Evidence gives the night share before
(history) and after (window) in the configured night window.

History must not learn the shift it is judging, nor judge against a history
that holds part of the window: every day is folded into the profile when it
leaves the window (folded at once, ordinary days made history a sample of the
window's quiet days, and the first nights of a shift, too early to judge,
taught it the nights as the person's). Hours a person is often out through
(one day in ten) are no part of their sleep: a night worker's working hours,
and the hour they come home. Gates miss passes, so history also learns the
night after an evening `out` whose return was missed, and the night before a
night-time `in` whose exit was, as perhaps spent out; only an outing seen
whole makes a night day. The
grid's population (all its residents' days) is a weak prior for everyone and
the whole baseline for a key person without enough history of their own.

Day buckets are sums, so arrival order within a day does not matter; days
close in ``advance`` (or, if a partition's watermark lags a whole day behind a
person's events, in ``observe``), and population figures are read as they
stood before the day closed, so verdicts do not depend on the cadence of
``advance``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from config.patterns import UnusualHoursConfig
from detectors.base import DailyDetector, Decision, restore_slots
from gridwatch.events import Access, Event
from gridwatch.registry import Registry

HOUR, DAY = 3600.0, 86400.0
EMPTY = -1
RARE_OUT = 0.1  # out at an hour on fewer than one day in ten: that hour is spent in
MAX_OUTING_S = 16 * HOUR  # an `out` and the next `in` further apart bracket a missed pass


def _zeros24() -> array:
    return array("f", bytes(4 * 24))


@dataclass(slots=True)
class _Profile:
    """Decayed hourly passes and day counts: a person's history, or a grid's population."""

    hours: array = field(default_factory=_zeros24)
    day: int = EMPTY  # day index the sums are decayed to
    days: float = 0.0  # decayed active days
    night_days: float = 0.0  # decayed night days
    seen: int = 0  # active days folded, undecayed (capped): is there a history at all?
    out: array = field(default_factory=_zeros24)  # decayed days spent out at each hour

    __setstate__ = restore_slots

    def fold(self, day: int, counts: bytes | bytearray, night: bool, decay: float,
             away: bytes | bytearray = b"") -> None:
        """Add one day, whatever the order days arrive in (weights are decay^(age))."""
        if day > self.day:
            if self.day != EMPTY:
                f = decay ** (day - self.day)
                hours, out = self.hours, self.out
                for h in range(24):
                    hours[h] *= f
                    out[h] *= f
                self.days *= f
                self.night_days *= f
            self.day = day
        w = decay ** (self.day - day)
        hours = self.hours
        for h, c in enumerate(counts):
            if c:
                hours[h] += w * c
        for h in range(24 if any(away) else 0):
            if away[h // 8] >> (h % 8) & 1:
                self.out[h] += w
        self.days += w
        self.night_days += w * night
        self.seen = min(self.seen + 1, 10_000)

    def out_shares(self) -> list[float]:
        return [x / self.days for x in self.out] if self.days > 0 else [0.0] * 24

    def shares(self) -> list[float]:
        total = sum(self.hours)
        return [x / total for x in self.hours] if total > 0 else [0.0] * 24


@dataclass(slots=True)
class _Person:
    grid: str
    ring_days: array  # day index per slot (EMPTY: free)
    counts: bytearray  # passes per slot and local hour, capped at 255
    folded: bytearray  # 1 once the slot's day is in the history
    night: bytearray  # 1 if the slot's day was a night day when it closed
    history: _Profile = field(default_factory=_Profile)
    open_start: float | None = None
    severity: str = ""
    away: bytearray = field(default_factory=bytearray)  # per slot: hours wholly out, 24 bits
    maybe: bytearray = field(default_factory=bytearray)  # per slot: hours perhaps out (below)
    out_t: float = -math.inf  # the last `out` pass not yet followed by an `in`
    in_t: float = -math.inf  # the last `in` pass (an `in` after it means a missed `out`)

    __setstate__ = restore_slots


@dataclass(frozen=True, slots=True)
class _Baseline:
    quiet: tuple[int, ...]  # the person's quiet night hours
    stay: tuple[int, ...]  # quiet hours an outing through makes a night (own history only)
    night_share: float  # usual share of passes in the night window
    rate: float  # usual chance of a night day
    source: str  # "own history" or "population"


@dataclass(frozen=True, slots=True)
class _Window:
    active_days: int
    night_days: int
    passes: int
    night_passes: int
    quiet_passes: int
    first_night_day: int


class UnusualHours(DailyDetector):
    """Fire when a person is active in their usual sleeping hours for nights; resolve after.

    Examples
    --------
    Eight residents go out around 08:30 and come back around 18:00; from day
    10 one of them goes out at 23:00 and comes back at 04:00, the small hours
    of their own and their grid's sleep. The third such night is the alert,
    stamped at the end of that day (08:00 local). The night-shift worker,
    out from 21:00 to 06:00 every night, is never flagged: those are their
    busy hours. Their 21:00 passes are also why the quiet hours start at
    midnight: 23:00 is within ``quiet_before_h`` of an hour the grid is
    awake.

    >>> import random
    >>> from gridwatch.events import Access
    >>> from gridwatch.registry import Registry
    >>> reg = Registry()
    >>> reg.put("houses", {"house_id": "h1", "grid_id": "g1", "registered_occupants": 9})
    >>> people = [f"p-{i}" for i in range(8)] + ["p-nightshift"]
    >>> for pid in people:
    ...     reg.put("persons", {"person_id": pid, "house_id": "h1"})
    >>> det, rng, out = UnusualHours(UnusualHoursConfig(), reg), random.Random(7), []
    >>> T0 = 1_800_000_000 - 1_800_000_000 % 86400 - 8 * 3600  # a local midnight
    >>> for d in range(16):
    ...     for pid in people:
    ...         hours = (21, 30) if pid == "p-nightshift" else (8.5, 18)
    ...         hours = (23, 28) if pid == "p-0" and d >= 10 else hours
    ...         for h in hours:
    ...             t = T0 + d * 86400 + h * 3600 + rng.uniform(0, 1800)
    ...             out += det.observe(Access(f"{pid}-{d}-{h}", t, "g", "out", "face", pid))
    ...     out += det.advance(T0 + (d + 1) * 86400 + 12 * 3600)
    >>> [(x.subject_id, (x.t - T0) / 86400, x.evidence["night_days"]) for x in out]
    [('p-0', 13.333333333333334, 3)]
    >>> out[0].evidence["quiet_hours"], out[0].evidence["night_share_after"]
    ('00-05', 0.429)
    """

    name = "unusual_hours"
    version = "1"
    streams = frozenset({"access"})
    observe_filters = True
    _not_state = ("config", "registry", "_night", "_offset", "_decay", "_ring")

    def __init__(self, config: UnusualHoursConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        start, end = config.night_start_hour, config.night_end_hour
        self._night = tuple(h for h in range(24)
                            if ((start <= h or h < end) if start > end else start <= h < end))
        self._offset = config.utc_offset_h * HOUR
        self._decay = 0.5 ** (1.0 / config.half_life_days)
        self._ring = config.window_days + 2
        self.persons: dict[str, _Person] = {}
        self.population: dict[str, _Profile] = {}
        # person-days the population learns at the close of a later day
        self.pop_due: dict[int, list[tuple[str, int, bytes, bool, bytes]]] = {}
        self.pending: dict[int, dict[str, None]] = {}
        self.open: dict[str, None] = {}
        self.next_close: int | None = None
        self.late = 0

    def shard_key(self, event: Event) -> str | None:
        if type(event) is not Access or not self.config.enabled or not event.person_id:
            return None
        return self.registry.person_grid(event.person_id)

    # ------------------------------------------------------------ time
    def _day(self, t: float) -> int:
        return int((t + self._offset - self.config.night_end_hour * HOUR) // DAY)

    def _day_end(self, day: int) -> float:
        return (day + 1) * DAY + self.config.night_end_hour * HOUR - self._offset

    def _night_start(self, day: int) -> float:
        cfg = self.config
        return self._day_end(day - 1) + (cfg.night_start_hour - cfg.night_end_hour) % 24 * HOUR

    # ------------------------------------------------------------ events
    def observe(self, event: Event) -> list[Decision]:
        grid = self.shard_key(event)
        if grid is None:
            return []
        assert isinstance(event, Access) and event.person_id
        day = self._day(event.t)
        out, day_open = self._catch_up(day)
        if not day_open:
            return out
        p = self.persons.get(event.person_id)
        if p is None:
            p = self.persons[event.person_id] = _Person(
                grid, array("i", [EMPTY] * self._ring), bytearray(24 * self._ring),
                bytearray(self._ring), bytearray(self._ring))
        p.grid = grid
        slot = self._slot(p, day)
        hour = int((event.t + self._offset) % DAY // HOUR)
        i = slot * 24 + hour
        if p.counts[i] < 255:
            p.counts[i] += 1
        self.pending.setdefault(day, {})[event.person_id] = None
        if event.direction == "out":
            if event.t > p.out_t > -math.inf and self._at_night(p.out_t):
                self._maybe_away(p, p.out_t, event.t)  # the return was missed
            p.out_t = max(p.out_t, event.t)
        elif event.t > p.out_t > -math.inf:
            if event.t - p.out_t <= MAX_OUTING_S:  # longer: a pass was missed in between
                self._away(event.person_id, p, p.out_t, event.t)
            elif self._at_night(p.out_t):
                self._maybe_away(p, p.out_t, event.t)
            p.out_t, p.in_t = -math.inf, event.t
        elif p.out_t == -math.inf:
            if hour in self._night:  # an `in` after an `in`: the `out` was missed
                self._maybe_away(p, max(p.in_t, self._night_start(day)), event.t)
            p.in_t = max(p.in_t, event.t)
        return out

    def _away(self, pid: str, p: _Person, left: float, back: float) -> None:
        """Mark the whole hours between an `out` and the next `in` as hours spent out."""
        if len(p.away) != 3 * self._ring:
            p.away = bytearray(3 * self._ring)
        first = math.ceil((left + self._offset) / HOUR)
        for n in range(first, math.floor((back + self._offset) / HOUR)):
            t = n * HOUR - self._offset
            day = self._day(t)
            if self.next_close is not None and day < self.next_close:
                continue  # judged already
            slot = self._slot(p, day)
            hour = n % 24
            p.away[slot * 3 + hour // 8] |= 1 << hour % 8
            self.pending.setdefault(day, {})[pid] = None

    def _at_night(self, t: float) -> bool:
        return int((t + self._offset) % DAY // HOUR) in self._night

    def _maybe_away(self, p: _Person, start: float, end: float) -> None:
        """Mark the night hours of ``start``'s day up to ``end`` as perhaps spent out.

        The hours after an `out` whose return was missed, or before an `in` whose
        exit was: only history learns them (a night day needs an outing seen). A
        night worker whose passes the gate often misses would otherwise have a
        history of nights at home and a window of nights out, a shift that never
        happened.
        """
        day = self._day(start)
        slot = day % self._ring
        if p.ring_days[slot] != day or p.folded[slot]:
            return
        if len(p.maybe) != 3 * self._ring:
            p.maybe = bytearray(3 * self._ring)
        first = math.ceil((start + self._offset) / HOUR)
        last = math.floor((min(end, self._day_end(day)) + self._offset) / HOUR)
        for n in range(first, last):
            h = n % 24
            p.maybe[slot * 3 + h // 8] |= 1 << h % 8

    def _slot(self, p: _Person, day: int) -> int:
        slot = day % self._ring
        old = p.ring_days[slot]
        if old != day:
            if old != EMPTY and not p.folded[slot]:
                self._fold(p, slot)  # older than any window still to be judged
            p.ring_days[slot] = day
            p.folded[slot] = p.night[slot] = 0
            p.counts[slot * 24:(slot + 1) * 24] = bytes(24)
            if p.away:
                p.away[slot * 3:slot * 3 + 3] = bytes(3)
            if p.maybe:
                p.maybe[slot * 3:slot * 3 + 3] = bytes(3)
        return slot

    def _fold(self, p: _Person, slot: int) -> None:
        """Into the person's history, with the verdict the day got when it closed.

        Folds are sums weighted by age, so when one happens (an eviction in
        ``observe``, or the next judgement) does not change the history a
        later judgement reads. A night day of an open episode is dropped, not
        learned: the shift must not become the baseline that judges whether it
        is over (Noufaily et al. 2013 keep alarmed weeks out of the baseline
        for the same reason).
        """
        if not (p.open_start is not None and p.night[slot]):
            counts = p.counts[slot * 24:(slot + 1) * 24]
            p.history.fold(p.ring_days[slot], counts, bool(p.night[slot]), self._decay,
                           _learned_away(p, slot))
        p.folded[slot] = 1

    # ------------------------------------------------------------ days
    def _close(self, day: int) -> list[Decision]:
        """Judge everyone active on ``day`` or under an open episode, then learn the day.

        Population figures are read before any of the day's updates, so the
        order persons are judged in changes nothing.
        """
        who = self.pending.pop(day, {})
        for pid in self.open:
            who.setdefault(pid, None)
        out: list[Decision] = []
        slot = day % self._ring
        first_day = day - self.config.window_days + 1
        for pid in who:
            p = self.persons[pid]
            for s in range(self._ring):  # days that left the window are history now
                if p.ring_days[s] != EMPTY and p.ring_days[s] < first_day and not p.folded[s]:
                    self._fold(p, s)
            base = self._baseline(p)
            decision = self._judge(pid, p, day, base)
            if decision is not None:
                out.append(decision)
            if p.ring_days[slot] != day:
                continue
            counts = bytes(p.counts[slot * 24:(slot + 1) * 24])
            night = base is not None and _in(p, slot, counts, base.quiet, base.stay)
            p.night[slot] = night
            if p.open_start is None:  # a person under an episode does not teach it either
                due = self.pop_due.setdefault(day + self.config.window_days, [])
                due.append((p.grid, day, counts, night, _learned_away(p, slot)))
        # The population learns each day a window later: the grid's life as it was before
        # any shift being judged, even one many neighbours share.
        for grid, d, counts, night, away in self.pop_due.pop(day, ()):
            self.population.setdefault(grid, _Profile()).fold(d, counts, night, self._decay,
                                                              away)
        return out

    def _baseline(self, p: _Person) -> _Baseline | None:
        """The person's quiet night hours and usual rates; None if there is nothing to go on."""
        cfg, hist = self.config, p.history
        pop = self.population.get(p.grid)
        if pop is not None and pop.days <= 0:
            pop = None
        weight = cfg.population_weight_days if pop is not None else 0.0
        own = hist.seen >= cfg.min_history_days
        if not own:
            if pop is None:
                return None
            weight = max(weight, float(cfg.min_history_days))
        days = hist.days + weight
        if days <= 0:
            return None
        mine = hist.shares()
        theirs = pop.shares() if pop is not None else [0.0] * 24
        share = [(a * hist.days + b * weight) / days for a, b in zip(mine, theirs, strict=True)]
        # hours they are often out through are no part of their sleep: a night worker's
        # working hours, and the hour they come home. Only a person's own history tells
        # (a key person new to the grid who works nights is out when their grid sleeps)
        outs, pop_outs = hist.out_shares(), pop.out_shares() if pop is not None else [0.0] * 24
        rare = [x < cfg.rare_hour_share and not (
            own and (o * hist.days + q * weight) / days >= RARE_OUT)
            for x, o, q in zip(share, outs, pop_outs, strict=True)]
        # quiet for the person and for the city they live in: a late evening out is rare
        # for a homebody, but the small hours are when everyone sleeps
        both = [r and x < cfg.rare_hour_share for r, x in zip(rare, theirs, strict=True)]
        if pop is None:
            both = rare
        span = range(-cfg.quiet_before_h, cfg.quiet_after_h + 1)
        quiet = tuple(h for h in self._night if all(both[(h + o) % 24] for o in span))
        pop_rate = pop.night_days / pop.days if pop is not None else 0.0
        # Half a night day more than seen (Laplace's rule of succession, halved) keeps a
        # spotless short history from making any night day impossible.
        rate = (hist.night_days + pop_rate * weight + 0.5) / (days + 1.0)
        night_share = sum(share[h] for h in self._night)
        # being out through a quiet hour is a night out (judged on own history only)
        stay = quiet if own else ()
        return _Baseline(quiet, stay, night_share, min(max(rate, 1e-4), 1 - 1e-4),
                         "own history" if own else "population")

    def _window(self, p: _Person, day: int, base: _Baseline) -> _Window:
        first_day = day - self.config.window_days + 1
        active = nights = passes = night_passes = quiet_passes = 0
        first_night = EMPTY
        for slot in range(self._ring):
            d = p.ring_days[slot]
            if d == EMPTY:
                continue
            if not first_day <= d <= day:
                continue
            counts = p.counts[slot * 24:(slot + 1) * 24]
            total = sum(counts)
            if total == 0 and not any(p.away[slot * 3:slot * 3 + 3]):
                continue
            active += 1
            passes += total
            night_passes += sum(counts[h] for h in self._night)
            quiet = sum(counts[h] for h in base.quiet)
            quiet_passes += quiet
            if _in(p, slot, counts, base.quiet, base.stay):
                nights += 1
                first_night = d if first_night == EMPTY else min(first_night, d)
        return _Window(active, nights, passes, night_passes, quiet_passes, first_night)

    def _judge(self, pid: str, p: _Person, day: int, base: _Baseline | None) -> Decision | None:
        cfg = self.config
        if base is None:
            return None
        key_person = "key_person" in self.registry.person_tags(pid)
        if base.source == "population" and not key_person:
            return None
        w = self._window(p, day, base)
        after = w.night_passes / w.passes if w.passes else 0.0
        if p.open_start is not None:
            if w.night_days < max(1, cfg.min_night_days - 1):
                return self._decide(pid, p, day, "resolved", w, base, after)
            return None
        if (w.night_days < cfg.min_night_days or w.passes < cfg.min_passes
                or after <= base.night_share):
            return None
        tail = _binom_tail(w.night_days, w.active_days, base.rate)
        if tail > cfg.alpha:
            return None
        p.open_start = self._night_start(w.first_night_day)
        p.severity = cfg.key_person_severity if key_person else cfg.severity
        return self._decide(pid, p, day, "firing", w, base, after, tail)

    def _decide(self, pid: str, p: _Person, day: int, status: str, w: _Window, base: _Baseline,
                after: float, tail: float | None = None) -> Decision:
        assert p.open_start is not None
        cfg = self.config
        evidence: dict[str, object] = {
            "night_share_before": round(base.night_share, 3),
            "night_share_after": round(after, 3), "days_observed": w.active_days,
            "night_days": w.night_days, "window_days": cfg.window_days, "passes": w.passes,
            "passes_in_quiet_hours": w.quiet_passes, "history_days": p.history.seen,
            "baseline": base.source, "usual_night_day_rate": round(base.rate, 3),
            "quiet_hours": _hours_text(base.quiet),
            "night_window": f"{cfg.night_start_hour:02d}:00-{cfg.night_end_hour:02d}:00"}
        if tail is not None:
            evidence["p_value"] = float(f"{tail:.3g}")
        start, severity = p.open_start, p.severity
        if status == "resolved":
            p.open_start, p.severity = None, ""
            self.open.pop(pid, None)
        else:
            self.open[pid] = None
        return self.decision("unusual_hours", "person", pid, status,  # type: ignore[arg-type]
                             severity, start, self._day_end(day), evidence, p.grid)


def _away(p: _Person, slot: int) -> bytes:
    """The slot's hours spent wholly out, as 24 bits."""
    return bytes(p.away[slot * 3:slot * 3 + 3]) if p.away else bytes(3)


def _learned_away(p: _Person, slot: int) -> bytes:
    """The hours history learns as spent out: those seen, and those perhaps."""
    away = _away(p, slot)
    if not p.maybe:
        return away
    return bytes(a | b for a, b in zip(away, p.maybe[slot * 3:slot * 3 + 3], strict=True))


def _in(p: _Person, slot: int, counts: bytes | bytearray, hours: tuple[int, ...],
        stay: tuple[int, ...]) -> bool:
    """A pass in one of ``hours`` on the slot's day, or an outing through one of ``stay``."""
    away = _away(p, slot)
    return any(counts[h] for h in hours) or any(away[h // 8] >> (h % 8) & 1 for h in stay)


def _hours_text(hours: tuple[int, ...]) -> str:
    """Runs of hours as ``00-05``-style text (end exclusive), in the order of the night."""
    runs: list[list[int]] = []
    for h in hours:
        if runs and (runs[-1][-1] + 1) % 24 == h:
            runs[-1].append(h)
        else:
            runs.append([h])
    if len(runs) > 1 and (runs[-1][-1] + 1) % 24 == runs[0][0]:
        runs[0] = runs.pop() + runs[0]
    return ", ".join(f"{r[0]:02d}-{(r[-1] + 1) % 24:02d}" for r in runs)


def _binom_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p); n is at most a few weeks of days."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return min(1.0, sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1)))
