"""``gridwatch simulate``: a simulated city with injected incidents and ground truth.

A city of households lives its days on a minute grid (sleep, home, out);
gate passes, meter readings, sensor events and grid reports are read off
those plans with real-world imperfection, and incidents (a fall, a
wandering dementia patient, a gas leak, a building outage…) are laid over
normal life after a learning period. ``truth.jsonl`` says what happened and
when it truly began; ``controls.jsonl`` lists unusual but harmless lives.

    simulate(out_dir, persons=2000, days=7, seed=1)      # files
    for stream, event in simulate_stream(300, 14, 1):    # live, no files
        ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.emit import Event, iter_feed
from gridwatch.simulate.generate import Feed, generate
from gridwatch.simulate.inject import inject
from gridwatch.simulate.model import City
from gridwatch.simulate.world import Record, World
from gridwatch.simulate.writer import write_feed, write_jsonl, write_registry

DEFAULT_START = datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=8)))

__all__ = ["DEFAULT_START", "Simulation", "SimulationSummary", "simulate", "simulate_stream"]


@dataclass
class SimulationSummary:
    """What a run produced; ``str()`` is the CLI's report."""

    persons: int
    unregistered_residents: int
    houses: int
    grids: int
    gates: int
    devices: int
    events: dict[str, int] = field(default_factory=dict)
    incidents: dict[str, int] = field(default_factory=dict)
    controls: dict[str, int] = field(default_factory=dict)
    out_dir: str | None = None

    def __str__(self) -> str:
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k}={v}" for k, v in sorted(d.items())) or "none"
        return "\n".join([
            f"city: {self.persons} persons (+{self.unregistered_residents} unregistered), "
            f"{self.houses} houses, {self.grids} grids, {self.gates} gates, "
            f"{self.devices} devices",
            f"events: {fmt(self.events)} (total {sum(self.events.values())})",
            f"incidents: {fmt(self.incidents)}",
            f"controls: {fmt(self.controls)}",
        ] + ([f"written to {self.out_dir}"] if self.out_dir else []))


class Simulation:
    """One simulated city: registry, truth and controls at once, events on demand."""

    def __init__(self, persons: int = 2000, days: int = 7, seed: int = 1,
                 start: datetime = DEFAULT_START, incident_rate: float = 1.0,
                 max_disorder_s: float = 0.0) -> None:
        self.world = World(persons, days, seed, start)
        inject(self.world, incident_rate)
        self.max_disorder_s = max_disorder_s
        self._feed: Feed | None = None

    @property
    def city(self) -> City:
        return self.world.city

    @property
    def clock(self) -> Clock:
        return self.world.clock

    @property
    def truth(self) -> list[Record]:
        return self.world.scenario.truth

    @property
    def controls(self) -> list[Record]:
        return self.world.scenario.controls

    def feed(self) -> Feed:
        if self._feed is None:
            self._feed = generate(self.world)
        return self._feed

    def events(self) -> Iterator[Event]:
        """(stream, message) in time order (within ``max_disorder_s``)."""
        return iter_feed(self.feed(), self.city, self.clock, self.max_disorder_s,
                         self.world.seed)

    def write_registry(self, directory: Path) -> None:
        write_registry(self.city, Path(directory))

    def summary(self, events: dict[str, int], out_dir: Path | None = None) -> SimulationSummary:
        city = self.city
        registered = sum(p.registered for p in city.persons)
        return SimulationSummary(
            registered, len(city.persons) - registered, len(city.houses), len(city.grids),
            len(city.gates), len(city.devices), dict(sorted(events.items())),
            dict(sorted(Counter(r["kind"] for r in self.truth).items())),
            dict(sorted(Counter(r["kind"] for r in self.controls).items())),
            str(out_dir) if out_dir else None)

    def write(self, out_dir: Path) -> SimulationSummary:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.write_registry(out / "registry")
        counts = write_feed(self.events(), out / "feed.jsonl")
        write_jsonl(self.truth, out / "truth.jsonl")
        write_jsonl(self.controls, out / "controls.jsonl")
        return self.summary(dict(counts), out)


def simulate(out_dir: Path, persons: int = 2000, days: int = 7, seed: int = 1,
             start: datetime = DEFAULT_START, incident_rate: float = 1.0,
             max_disorder_s: float = 0.0) -> SimulationSummary:
    """Write ``registry/``, ``feed.jsonl``, ``truth.jsonl`` and ``controls.jsonl``."""
    return Simulation(persons, days, seed, start, incident_rate, max_disorder_s).write(out_dir)


def simulate_stream(persons: int = 300, days: int = 14, seed: int = 1,
                    start: datetime = DEFAULT_START, incident_rate: float = 1.0,
                    max_disorder_s: float = 0.0) -> Iterator[Event]:
    """The same city's events without files, for live runs (see ``Simulation`` for truth)."""
    yield from Simulation(persons, days, seed, start, incident_rate, max_disorder_s).events()
