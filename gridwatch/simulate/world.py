"""The simulated world: city, clock, habits and the scenario laid over normal life.

Plans are recomputed from named seeds whenever they are needed instead of
kept, so a person's normal life does not depend on which incidents were
drawn, and memory holds only one household's minute grid at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import AWAY, House, Person
from gridwatch.simulate.rand import py_rng
from gridwatch.simulate.registry import add_live_ins, build_city
from gridwatch.simulate.routines import (
    Override,
    Profile,
    apply_overrides,
    joint_outings,
    plan_states,
    profile_for,
)
from gridwatch.simulate.tables import PassRow

Record = dict[str, Any]


@dataclass
class Scenario:
    """Everything injected on top of normal life, and the ground truth about it."""

    overrides: dict[int, list[Override]] = field(default_factory=lambda: defaultdict(list))
    splices: dict[int, tuple[int, int, Profile]] = field(default_factory=dict)
    water_add: dict[int, list[tuple[int, int, float]]] = field(
        default_factory=lambda: defaultdict(list))
    power_add: dict[int, list[tuple[int, int, float]]] = field(
        default_factory=lambda: defaultdict(list))
    gas_leaks: dict[int, list[tuple[int, int, float, float]]] = field(
        default_factory=lambda: defaultdict(list))
    overheats: dict[int, list[tuple[int, int, float, float]]] = field(
        default_factory=lambda: defaultdict(list))
    smoke: list[tuple[int, int, int]] = field(default_factory=list)
    offline: dict[int, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    passes: list[PassRow] = field(default_factory=list)
    doors: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    reports: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    truth: list[Record] = field(default_factory=list)
    controls: list[Record] = field(default_factory=list)


class World:
    def __init__(self, persons: int, days: int, seed: int, start: datetime) -> None:
        self.seed = seed
        self.clock = Clock.of(start, days)
        self.city = build_city(persons, py_rng(seed, "city"))
        self.live_ins = add_live_ins(self.city, py_rng(seed, "live-in"))
        self.profiles = [profile_for(p, py_rng(seed, "profile", p.idx))
                         for p in self.city.persons]
        self.scenario = Scenario()

    def add_person(self, person: Person, profile: Profile) -> None:
        self.city.persons.append(person)
        self.city.houses[person.house].members.append(person.idx)
        self.profiles.append(profile)
        if person.move_in > 0:
            self.scenario.overrides[person.idx].append(Override(0, person.move_in, AWAY))

    def base_states(self, house: House) -> list[np.ndarray]:
        """Normal life of the household: own plans plus weekend outings together."""
        states = [plan_states(self.profiles[p], py_rng(self.seed, "plan", p), self.clock)
                  for p in house.members]
        family = [st for st, p in zip(states, house.members, strict=True)
                  if self.city.persons[p].registered]
        joint_outings(family, py_rng(self.seed, "joint", house.idx), self.clock)
        return states

    def states(self, house: House) -> list[np.ndarray]:
        """Normal life with the scenario applied: shifted routines, falls, trips…"""
        states = self.base_states(house)
        for p, st in zip(house.members, states, strict=True):
            if p in self.scenario.splices:
                m0, m1, profile = self.scenario.splices[p]
                alt = plan_states(profile, py_rng(self.seed, "plan-alt", p), self.clock)
                st[m0:m1] = alt[m0:m1]
            apply_overrides(st, self.scenario.overrides.get(p, []))
        return states
