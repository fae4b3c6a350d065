"""``crowd`` (人员聚集): far more distinct people, or strangers, through a place than usual.

A *place* is a gate, or (``grid_level``) all community and building gates of
one grid together. Its sliding window holds the last ``window_minutes`` of
passes and gives two counts: *people* (distinct recognised ids plus
unrecognised passes — a pass without an id cannot be told from the next) and
*strangers* (distinct ids the registry does not know passing in, plus
unrecognised `in` passes: a gathering is people arriving, and a banquet's
guests leaving together are its end). At a grid, whose visitors pass a
community gate and then their building's, an unrecognised pass at one may be
the unknown face at the next: its strangers are the more of the two, not
their sum (eight visitors are not sixteen). A window of mostly departures (two
thirds or more) opens no episode on the people count either: people
dispersing or leaving for work are not gathering. Residents coming home at
six are routine; sixty strangers in a quarter hour are not, even at a busy
gate.

Each count has its own baseline. At every window boundary (a tumbling step
of the window's length) the count teaches the mean and variance of its bin —
the local hour of a weekday or of a weekend day — and a *level*, the log ratio
of recent counts to their bins with a half-life of about an hour. A sliding
window is judged by the higher of the (learned) bins of the two hours it
spans, so a peak at the same minute every day is expected whichever hour the
window's middle falls in. The expected count is ``(mean + 1) × e^level − 1``,
so a rise that builds over hours (a festival, a market day) moves the
expectation with it; a surge inside one window does not. The test is the
negative-binomial upper tail at that mean (Noufaily et al. 2013), with the
larger of the bin's and the place's overdispersion (at an hour that sees
under three a window, at most the φ = 2 a place may learn), gated by
``min_count`` and ``factor``. The half hour before an episode opens is never
learned, the level stands still while it is open, and the bins learn its
windows clipped at the firing limit, so a crowd does not teach its own
baseline, while a gathering that recurs (a daily delivery crew, a Sunday
service) becomes one after an alarm or two. The strangers' count of a day type
not seen yet (a place's first weekend) borrows the other day type's hour at
three times its mean.

The episode resolves ``resolve_after_minutes`` after both counts are back
within their baseline's ``1 - clear_p`` quantile (people leaving a gathering
an hour later are the same gathering); deadlines at the next expiry and at
the end of that hold keep it exact without events. A grid holds one crowd
episode at a time, whichever of its places crossed first.

Events are processed in event-time order (:mod:`detectors.reorder`), so the
counts at any moment are those of the time-sorted stream.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from scipy.special import betainc

from config.base import hash_of
from config.days import CalendarConfig
from config.patterns import CrowdConfig
from detectors.base import SEVERITY_RANK, Decision, DetectorBase, restore_slots
from detectors.days import DayTypes
from detectors.reorder import Deadlines, EventTimeBuffer
from gridwatch.events import Access, Event
from gridwatch.registry import Registry

HOUR, DAY = 3600.0, 86400.0
BINS = 48  # local hour × (weekday, weekend)
MAX_GAP_STEPS = 14 * 96  # idle boundaries replayed as zeros; older gaps are skipped
SERIES = ("people", "strangers")
STRANGER, ARRIVING = 1, 2  # a window entry's code: an unregistered id; an `in` pass
DISPERSION_MIN_MEAN = 3.0
DISPERSION_RATE = 0.02  # the place's dispersion remembers ~50 samples
MAX_EXCESS = 2.0  # one sample's excess is clipped here (φ = 2: very bursty arrivals)
UNTAUGHT = 3.0  # an hour of a day type not yet seen borrows the other's, times this


def _zeros(code: str = "f") -> array:
    return array(code, bytes(4 * BINS))


@dataclass(slots=True)
class _Series:
    """One count's baseline: mean and variance per hour bin, a level, the place's dispersion."""

    __setstate__ = restore_slots

    mean: array = field(default_factory=_zeros)
    var: array = field(default_factory=_zeros)
    n: array = field(default_factory=lambda: _zeros("I"))
    level: float = 0.0  # log of the recent ratio to the bins
    dispersion: float = 0.0  # excess variance over mean², pooled over the place's hours


@dataclass(slots=True)
class _Place:
    subject_type: str  # "gate" | "grid"
    subject_id: str
    grid: str | None
    first_t: float
    boundary: float  # the latest window boundary learned
    window: deque = field(default_factory=deque)  # (t, person id or None, STRANGER/ARRIVING)
    inside: dict[str, int] = field(default_factory=dict)  # person → passes in window
    unrecognised: int = 0
    unrecognised_in: int = 0  # of them arriving
    leaving: int = 0  # `out` passes in the window
    arrivals: dict[str, int] = field(default_factory=dict)  # stranger → `in` passes in window
    series: tuple[_Series, _Series] = field(default_factory=lambda: (_Series(), _Series()))
    open_start: float | None = None
    severity: str = ""
    test: str = ""
    peak: int = 0
    cleared_at: float | None = None
    pending: deque = field(default_factory=deque)  # (bin, people, strangers) not yet learned

    __setstate__ = restore_slots

    def counts(self) -> tuple[int, int]:
        """People and strangers in the window (a grid's strangers: see the module)."""
        people = len(self.inside) + self.unrecognised
        if self.subject_type == "grid":
            return people, max(len(self.arrivals), self.unrecognised_in)
        return people, len(self.arrivals) + self.unrecognised_in


@dataclass(frozen=True, slots=True)
class _Expect:
    mean: float  # expected count, level included
    dispersion: float


class Crowd(DetectorBase):
    """Fire when a place's window count is far above its baseline; resolve when it is back.

    Examples
    --------
    A gate sees 2–6 residents per quarter hour for three days; then 50
    strangers pass within a quarter hour. The episode opens at 12 (the
    ``min_count``: strangers are never expected here), escalates at twice and
    four times that limit, and resolves an hour after the window is back to
    usual.

    >>> import random
    >>> from gridwatch.events import Access
    >>> from gridwatch.registry import Registry
    >>> reg, rng = Registry(), random.Random(1)
    >>> for i in range(6):
    ...     reg.put("persons", {"person_id": f"p{i}"})
    >>> det = Crowd(CrowdConfig(grid_level=False), reg)
    >>> T0, out = 1_800_000_000.0, []
    >>> for q in range(3 * 96):  # quarter hours
    ...     for i in range(rng.randint(2, 6)):
    ...         t = T0 + q * 900 + rng.uniform(0, 900)
    ...         out += det.observe(Access(f"a{q}-{i}", t, "gate-1", "in", "face", f"p{i}"))
    ...     out += det.advance(T0 + q * 900)
    >>> t1 = T0 + 3 * 86400 + 600
    >>> for i in range(50):
    ...     out += det.observe(Access(f"x{i}", t1 + i * 15, "gate-1", "in", "face", f"s{i}"))
    >>> out += det.advance(t1 + 4 * 3600)
    >>> [(d.status, d.severity, d.evidence["test"], d.evidence["strangers"]) for d in out]
    [('firing', 'yellow', 'strangers', 12), ('firing', 'orange', 'strangers', 24), \
('firing', 'red', 'strangers', 48), ('resolved', 'red', 'strangers', 0)]
    """

    name = "crowd"
    version = "1"
    streams = frozenset({"access"})
    observe_filters = True  # (``next_due`` stays "every step": the buffer keeps the watermark)
    _not_state = ("config", "registry", "_days", "_w", "_offset", "_alpha_day", "_alpha_end",
                  "_level_rate", "_min_n", "_hold", "_delay")

    def __init__(self, config: CrowdConfig, registry: Registry,
                 days: DayTypes | None = None) -> None:
        self._days = days or DayTypes(CalendarConfig())
        self.config = config
        self.registry = registry
        self._w = config.window_minutes * 60.0
        self._offset = config.utc_offset_h * HOUR
        steps_per_hour = HOUR / self._w
        # a bin learns one sample per step of its hour: weekday bins 5 days a week, weekend 2
        self._alpha_day = 1 - 0.5 ** (1 / (config.half_life_days * 5 / 7 * steps_per_hour))
        self._alpha_end = 1 - 0.5 ** (1 / (config.half_life_days * 2 / 7 * steps_per_hour))
        self._level_rate = 1 - 0.5 ** (self._w / (config.level_half_life_minutes * 60.0))
        self._min_n = max(1, math.ceil(config.min_bin_days * steps_per_hour))
        self._hold = config.resolve_after_minutes * 60.0
        self._delay = round(config.learn_delay_minutes * 60.0 / self._w)
        self.places: dict[str, _Place] = {}
        self.grid_open: dict[str, str] = {}  # grid → the place holding its episode
        self.buffer: EventTimeBuffer[Access] = EventTimeBuffer()
        self.deadlines = Deadlines()

    def config_hash(self) -> str:
        return hash_of(self.config, self._days.config)

    def shard_key(self, event: Event) -> str | None:
        if type(event) is not Access or not self.config.enabled:
            return None
        if not self.config.include_home_doors and self.registry.gate_house(event.gate_id):
            return None
        return self.registry.gate_grid(event.gate_id) or event.gate_id

    # ------------------------------------------------------------ engine calls
    def observe(self, event: Event) -> list[Decision]:
        if self.shard_key(event) is None:
            return []
        assert isinstance(event, Access)
        if self.buffer.push(event.t, event):
            return []
        return self._pass(event)  # later than the allowed lateness: take it as it comes

    def advance(self, watermark: float) -> list[Decision]:
        out: list[Decision] = []
        for t, event in self.buffer.release(watermark):
            out += self._due(t, strict=True)
            out += self._pass(event)
        out += self._due(watermark)
        return out

    def _due(self, t: float, strict: bool = False) -> list[Decision]:
        out: list[Decision] = []
        for key, when in self.deadlines.pop_due(t, strict):
            place = self.places[key]
            out += self._roll(key, place, when)  # (boundaries before the passes expire)
            out += self._expire(key, place, when)
            out += self._hold_over(key, place, when)
            self._schedule(key, place)
        return out

    def _schedule(self, key: str, place: _Place) -> None:
        if place.open_start is None:
            self.deadlines.cancel(key)
            return
        due = place.window[0][0] + self._w if place.window else math.inf
        if place.cleared_at is not None:
            due = min(due, place.cleared_at + self._hold)
        self.deadlines.set(key, due)

    # ------------------------------------------------------------ passes
    def _pass(self, ev: Access) -> list[Decision]:
        grid = self.registry.gate_grid(ev.gate_id)
        keys = [("gate", ev.gate_id, ev.gate_id)]
        if self.config.grid_level and grid is not None:
            keys.append(("grid", grid, "grid:" + grid))
        stranger = ev.person_id is not None and ev.person_id not in self.registry.persons
        code = (STRANGER if stranger else 0) | (ARRIVING if ev.direction == "in" else 0)
        out: list[Decision] = []
        for subject_type, subject_id, key in keys:
            place = self.places.get(key)
            if place is None:
                place = self.places[key] = _Place(subject_type, subject_id, grid, ev.t,
                                                  self._boundary_at(ev.t))
            out += self._roll(key, place, ev.t)
            out += self._expire(key, place, ev.t)
            self._add(place, ev.t, ev.person_id, code)
            out += self._test(key, place, ev.t)
            self._schedule(key, place)
        return out

    def _boundary_at(self, t: float) -> float:
        return math.floor(t / self._w) * self._w

    def _add(self, place: _Place, t: float, who: str | None, code: int) -> None:
        if len(place.window) >= self.config.max_window_passes:
            return  # bounded: the count saturates
        place.window.append((t, who, code))
        place.leaving += not code & ARRIVING
        if who is None:
            place.unrecognised += 1
            place.unrecognised_in += code >> 1  # (ARRIVING)
            return
        place.inside[who] = place.inside.get(who, 0) + 1
        if code == STRANGER | ARRIVING:
            place.arrivals[who] = place.arrivals.get(who, 0) + 1

    def _expire(self, key: str, place: _Place, now: float) -> list[Decision]:
        """Drop passes older than the window, noting the exact moment the counts are back."""
        window, cutoff = place.window, now - self._w
        out: list[Decision] = []
        while window and window[0][0] <= cutoff:
            t, who, code = window.popleft()  # (a checkpoint's older entries: code 0 or 1)
            place.leaving = max(place.leaving - (not code & ARRIVING), 0)
            if who is None:
                place.unrecognised -= 1
                place.unrecognised_in -= code >> 1
            else:
                _drop(place.inside, who)
                if code == STRANGER | ARRIVING:
                    _drop(place.arrivals, who)
            if place.open_start is not None and place.cleared_at is None \
                    and self._cleared(place, t + self._w):
                place.cleared_at = t + self._w
        return out

    def _hold_over(self, key: str, place: _Place, now: float) -> list[Decision]:
        if place.cleared_at is None or now < place.cleared_at + self._hold:
            return []
        return [self._close(key, place, place.cleared_at + self._hold)]

    def _roll(self, key: str, place: _Place, now: float) -> list[Decision]:
        """Learn from every window boundary passed since the last one, as of that boundary."""
        out: list[Decision] = []
        nxt = place.boundary + self._w
        if now - nxt > MAX_GAP_STEPS * self._w:  # silent for weeks: skip to the recent past
            nxt = self._boundary_at(now) - MAX_GAP_STEPS * self._w
        while nxt < now:  # a pass exactly at a boundary belongs to the window it closes
            out += self._expire(key, place, nxt)
            out += self._hold_over(key, place, nxt)
            b, counts = self._bin(nxt - self._w / 2), place.counts()  # the window's hour
            if place.open_start is None:
                for series, count in zip(place.series, counts, strict=True):
                    self._follow(series, b, float(count))
            # the bins learn a little later, and not at all if an episode opens meanwhile:
            # a crowd building over half an hour must not teach its own baseline
            place.pending.append((b, *counts))
            if len(place.pending) > self._delay:
                b, *counts = place.pending.popleft()
                for series, count in zip(place.series, counts, strict=True):
                    self._learn(series, b, float(count), place.open_start is None)
            place.boundary = nxt
            nxt += self._w
        return out

    # ------------------------------------------------------------ baseline
    def _bin(self, t: float) -> int:
        local = t + self._offset
        rest = self._days.rest(int(local // DAY))  # a holiday is a Sunday, a worked Sunday not
        return int(local % DAY // HOUR) + (24 if rest else 0)

    def _follow(self, s: _Series, b: int, x: float) -> None:
        """The level: how the last hour or so runs against the bins (outside episodes)."""
        if s.n[b] >= self._min_n:
            x = min(x, max(self._limit(self._expect_bin(s, b)), 1.0))
            ratio = math.log((x + 1.0) / (s.mean[b] + 1.0))
            cap = math.log(self.config.level_max)
            s.level += self._level_rate * (min(max(ratio, -cap), cap) - s.level)

    def _learn(self, s: _Series, b: int, x: float, calm: bool) -> None:
        """One sample into its bin; the place's dispersion learns only outside episodes."""
        if s.n[b] >= self._min_n:
            exp = self._expect_bin(s, b)
            x = min(x, max(self._limit(exp), 1.0))  # winsorised at the firing limit
            if calm and s.mean[b] >= DISPERSION_MIN_MEAN:
                # moment estimate of the NB excess, pooled over hours; at small means one
                # sample's excess is mostly noise, so those hours do not teach it
                excess = ((x - s.mean[b]) ** 2 - s.mean[b]) / s.mean[b] ** 2
                s.dispersion += DISPERSION_RATE * (min(max(excess, 0.0), MAX_EXCESS)
                                                   - s.dispersion)
        n = s.n[b] = min(s.n[b] + 1, 1_000_000)
        alpha = max(1.0 / n, self._alpha_end if b >= 24 else self._alpha_day)
        d = x - s.mean[b]
        s.mean[b] += alpha * d
        s.var[b] = (1 - alpha) * (s.var[b] + alpha * d * d)

    def _expect_bin(self, s: _Series, b: int) -> _Expect:
        mean, var = s.mean[b], s.var[b]
        phi = (var - mean) / (mean * mean) if mean > 0 else 0.0
        floor = (self.config.min_variance_ratio - 1.0) / mean if mean > 0 else 0.0
        if mean < DISPERSION_MIN_MEAN:
            # At a quiet place's hour one group in a few windows is most of the variance, and
            # the quasi-Poisson floor (ratio - 1) / mean grows without bound as the mean
            # falls: a negative binomial that bursty (φ = 12 at 0.08 a window) found 16
            # strangers arriving in a quarter hour unremarkable (p = 5e-4). Neither goes
            # past the burstiness the place may learn (MAX_EXCESS).
            phi, floor = min(phi, MAX_EXCESS), min(floor, MAX_EXCESS)
        phi = max(phi, s.dispersion, self.config.min_dispersion, floor)
        # the level is a log ratio of (count + 1) to (mean + 1), so this is what it implies;
        # it also lets a place that never sees strangers expect a few on a fair day
        return _Expect(max((max(mean, 0.0) + 1.0) * math.exp(s.level) - 1.0, 0.0), phi)

    def _expect(self, place: _Place, s: _Series, t: float,
                borrow: bool = False) -> _Expect | None:
        if t - place.first_t < self.config.warmup_days * DAY:
            return None
        # The sliding window spans at most two tumbling windows, learned in the bins of the
        # hours they fall in: take the higher of the two, so a peak every day at 06:00 sharp
        # is expected by the windows ending 06:00-06:15 that hold it, whatever their middle.
        # An unlearned bin is skipped (a weekday's hour says nothing about a Saturday's
        # residents; the strangers' count, ``borrow``, is judged by it if nothing else).
        # On a day no schedule covers (a year past the published one) a learned bin's twin
        # of the other day type counts too: a weekend may be worked, with a weekday's
        # commute, and a weekday may be a holiday, with a rest day's outings.
        either = self._days.guessed(int((t + self._offset) // DAY))
        hours = {self._bin(t - self._w), self._bin(t)}
        best = self._highest(s, [b for own in hours if s.n[own] >= self._min_n
                                 for b in ((own, (own + 24) % 48) if either else (own,))])
        if best is not None or not borrow:
            return best
        # A day type met for the first time (a place's first weekend): the other day
        # type's hour at UNTAUGHT times its mean, so only a gross surge counts (as
        # sensor_anomaly judges an untaught profile bin). Only for the strangers' count:
        # waiting for the bin left every place blind through its first weekend (a dispute
        # of 114 people at a gate went unseen), while residents' own routines do differ by
        # day type (a Saturday market).
        twin = self._highest(s, [(own + 24) % 48 for own in hours])
        return None if twin is None else _Expect((twin.mean + 1.0) * UNTAUGHT - 1.0,
                                                 twin.dispersion)

    def _highest(self, s: _Series, bins: list[int]) -> _Expect | None:
        """The expectation of the learned bin among ``bins`` that expects the most."""
        best: _Expect | None = None
        for b in bins:
            if s.n[b] >= self._min_n:
                exp = self._expect_bin(s, b)
                if best is None or exp.mean > best.mean:
                    best = exp
        return best

    def _limit(self, exp: _Expect) -> float:
        """The count below which no alert is possible, whatever the tail says."""
        return max(float(self.config.min_count), self.config.factor * exp.mean)

    # ------------------------------------------------------------ verdicts
    def _far_above(self, place: _Place, t: float) -> tuple[str, int, _Expect] | None:
        """The first count that is far above its baseline now, if any."""
        leaving = place.leaving * 3 >= len(place.window) * 2
        for name, s, count in zip(SERIES, place.series, place.counts(), strict=True):
            if count < self.config.min_count or (leaving and name == "people"):
                continue  # (a window of mostly departures is people dispersing, not gathering)
            exp = self._expect(place, s, t, name == "strangers")
            if exp is None or count < self._limit(exp):
                continue
            if _nb_tail(count, exp.mean, exp.dispersion) <= self.config.tail_p:
                return name, count, exp
        return None

    def _test(self, key: str, place: _Place, t: float) -> list[Decision]:
        if place.open_start is not None:
            out = self._hold_over(key, place, t)
            if place.open_start is None:
                return out + self._test(key, place, t)
            if not self._cleared(place, t):
                place.cleared_at = None
            place.peak = max(place.peak, max(place.counts()))
            severity = self._severity(place, t)
            if SEVERITY_RANK[severity] > SEVERITY_RANK[place.severity]:
                place.severity = severity
                out.append(self._decide(place, "firing", t))
            return out
        found = self._far_above(place, t)
        if found is None:
            return []
        if place.grid is not None and self.grid_open.get(place.grid, key) != key:
            return []  # the grid's crowd is already an episode of another of its places
        if place.grid is not None:
            self.grid_open[place.grid] = key
        place.test, place.peak = found[0], found[1]
        place.pending.clear()
        place.open_start, place.cleared_at = t, None
        place.severity = self._severity(place, t)
        return [self._decide(place, "firing", t)]

    def _severity(self, place: _Place, t: float) -> str:
        cfg = self.config
        i = SERIES.index(place.test)
        count = place.counts()[i]
        exp = self._expect(place, place.series[i], t, SERIES[i] == "strangers")
        limit = self._limit(exp) if exp is not None else float(cfg.min_count)
        severity = cfg.severity
        for factor, level in ((cfg.orange_factor, "orange"), (cfg.red_factor, "red")):
            if count >= factor * limit and SEVERITY_RANK[level] > SEVERITY_RANK[severity]:
                severity = level
        return severity

    def _cleared(self, place: _Place, t: float) -> bool:
        """Every count is back within its baseline's usual range."""
        for name, s, count in zip(SERIES, place.series, place.counts(), strict=True):
            exp = self._expect(place, s, t, name == "strangers")
            if exp is None:
                if count >= self.config.min_count:
                    return False
            elif count >= self._limit(exp) or (
                    count >= self.config.min_count
                    and _nb_tail(count, exp.mean, exp.dispersion) <= self.config.clear_p):
                return False
        return True

    def _close(self, key: str, place: _Place, t: float) -> Decision:
        decision = self._decide(place, "resolved", t)
        place.open_start, place.severity, place.peak, place.cleared_at = None, "", 0, None
        if place.grid is not None and self.grid_open.get(place.grid) == key:
            del self.grid_open[place.grid]
        return decision

    def _decide(self, place: _Place, status: str, t: float) -> Decision:
        assert place.open_start is not None
        people, strangers = place.counts()
        i = SERIES.index(place.test)
        exp = self._expect(place, place.series[i], t, SERIES[i] == "strangers")
        evidence: dict[str, Any] = {
            "test": place.test, "distinct_people": people, "strangers": strangers,
            "unrecognised_passes": place.unrecognised,
            "window_minutes": self.config.window_minutes, "peak": place.peak}
        if exp is not None:
            count = (people, strangers)[i]
            evidence["expected"] = round(exp.mean, 2)
            evidence["ratio"] = round(count / max(exp.mean, 0.1), 1)
            evidence["p_value"] = float(f"{_nb_tail(count, exp.mean, exp.dispersion):.3g}")
        if status == "resolved" and place.cleared_at is not None:
            evidence["back_to_usual_at"] = place.cleared_at
        return self.decision("crowd", place.subject_type, place.subject_id,  # type: ignore[arg-type]
                             status, place.severity, place.open_start, t,  # type: ignore[arg-type]
                             evidence, place.grid)


def _nb_tail(count: int, mean: float, dispersion: float) -> float:
    """P(X >= count) for a negative binomial with this mean and variance mean + φ·mean²."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    r = 1.0 / dispersion
    return float(betainc(float(count), r, mean / (r + mean)))


def _drop(counts: dict[str, int], who: str) -> None:
    """One pass of ``who`` leaves the window."""
    left = counts[who] - 1
    if left:
        counts[who] = left
    else:
        del counts[who]
