"""Who lives together, what they do all day, and which registry tags they carry.

Household shapes follow a northern Chinese city with an ageing population:
about one household in eight is an elderly person living alone (~5 % of
persons), families of three dominate, and shared rentals hold most tenants.
Tags are the grid's watch lists, so they are deliberately imperfect: not every
elderly person is tagged ``elderly``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (template, weight): members are drawn by _members()
TEMPLATES: tuple[tuple[str, float], ...] = (
    ("elderly_alone", 0.13), ("elderly_couple", 0.10), ("single", 0.12), ("couple", 0.15),
    ("nuclear", 0.29), ("three_gen", 0.10), ("shared", 0.08), ("large", 0.01),
)


@dataclass
class Member:
    age: str  # adult | elderly | minor
    role: str
    tags: list[str]


def _adult(rng: random.Random) -> Member:
    if rng.random() < 0.8:
        role = "night_worker" if rng.random() < 0.04 else "worker"
    else:
        role = "homemaker"
    return Member("adult", role, [])


def _elderly(rng: random.Random, alone: bool) -> Member:
    homebound = rng.random() < 0.08
    tags = ["elderly_alone"] if alone else []
    if (alone and rng.random() < 0.5) or (not alone and rng.random() < 0.75):
        tags.append("elderly")
    if homebound:
        tags.append("disabled")
    return Member("elderly", "homebound" if homebound else "retiree", tags)


def _minor(rng: random.Random) -> Member:
    return Member("minor", "child" if rng.random() < 0.35 else "student", ["minor"])


def _members(kind: str, rng: random.Random) -> list[Member]:
    adults = {"single": 1, "couple": 2, "nuclear": 2, "three_gen": 2, "shared": rng.randint(2, 3),
              "large": rng.randint(3, 4)}.get(kind, 0)
    minors = {"nuclear": 1 + (rng.random() < 0.35), "three_gen": 1, "large": 2}.get(kind, 0)
    elders = {"elderly_alone": 1, "elderly_couple": 2, "three_gen": 1 + (rng.random() < 0.6),
              "large": 2}.get(kind, 0)
    out = [_adult(rng) for _ in range(adults)] + [_minor(rng) for _ in range(minors)]
    out += [_elderly(rng, kind == "elderly_alone") for _ in range(elders)]
    tenant_p = {"shared": 1.0, "single": 0.5, "couple": 0.2, "nuclear": 0.08}.get(kind, 0.0)
    if rng.random() < tenant_p:
        for m in out:
            if m.age == "adult":
                m.tags.append("tenant")
    return out


def compose(n_persons: int, rng: random.Random) -> list[tuple[str, list[Member]]]:
    """Households until ``n_persons`` are housed; small cities still get every watched type."""
    kinds, weights = zip(*TEMPLATES, strict=True)
    forced = ["elderly_alone"] * min(8, n_persons // 25) + ["large"] * (n_persons >= 60)
    forced += ["single"] * min(3, n_persons // 60)
    out: list[tuple[str, list[Member]]] = []
    total = 0
    while total < n_persons:
        kind = forced.pop() if forced else rng.choices(kinds, weights)[0]
        members = _members(kind, rng)[: n_persons - total]
        out.append((kind, members))
        total += len(members)
    rng.shuffle(out)
    _rare_tags(out, n_persons, rng)
    return out


def _rare_tags(households: list[tuple[str, list[Member]]], n: int, rng: random.Random) -> None:
    """Dementia (~1 %), key persons (~1 %, at least 4, one living alone), disabled adults."""
    elders = [(k, m) for k, ms in households for m in ms if m.age == "elderly"]
    rng.shuffle(elders)
    elders.sort(key=lambda km: km[0] == "elderly_alone")  # prefer elders living with family
    for _, m in elders[: max(1, round(0.01 * n))]:
        m.tags.append("dementia")
        if "elderly" not in m.tags:
            m.tags.append("elderly")
        m.role = "retiree"
    adults = [(k, m) for k, ms in households for m in ms if m.age == "adult"]
    rng.shuffle(adults)
    alone = next((i for i, (k, _) in enumerate(adults) if k == "single"), None)
    if alone is not None:
        adults.insert(0, adults.pop(alone))  # at least one key person lives alone
    for _, m in adults[: max(4, round(0.01 * n))]:
        m.tags.append("key_person")
    for _, m in rng.sample(adults, k=min(len(adults), round(0.01 * n))):
        if "disabled" not in m.tags:
            m.tags.append("disabled")
