"""The three independent city simulators in ``bench/`` keep writing what the contract allows.

They are how the detectors are checked on data no one here tuned them on
(README, "Data no one here tuned on"); a generator that drifted from the
contract would turn that check into a check of dead letters. Each is run on a
small city: every feed line must parse, the registry must load with every
person's home, the truth must speak the contract's alert kinds, and the same
arguments must give the same bytes.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import orjson
import pytest

from gridwatch.contract import AlertKind
from gridwatch.feedlines import parse_line
from gridwatch.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
KINDS = set(typing.get_args(AlertKind))
GENERATORS = ["indep_city.py", "other_city.py", "third_city.py"]


def generate(script: str, out: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench" / script), "--out", str(out),
                    "--persons", "150", "--days", "9", "--seed", "5"],
                   check=True, capture_output=True, timeout=300)


@pytest.mark.parametrize("script", GENERATORS)
def test_an_independent_city_is_contract_valid_and_repeatable(script: str,
                                                              tmp_path: Path) -> None:
    generate(script, tmp_path / "a")
    city = tmp_path / "a"
    lines = (city / "feed.jsonl").read_bytes().splitlines()
    assert len(lines) > 10_000
    streams = {parse_line(line).stream for line in lines}  # raises on any invalid line
    assert streams == {"access", "iot", "report"}
    reg = Registry.from_dir(city / "registry")
    assert reg.persons and all(reg.person_house(pid) for pid in reg.persons)
    truth = [orjson.loads(line) for line in (city / "truth.jsonl").read_bytes().splitlines()]
    assert truth and {t["kind"] for t in truth} <= KINDS
    controls = (city / "controls.jsonl").read_bytes().splitlines()
    assert all(orjson.loads(c)["kind"].startswith("control:") for c in controls)
    generate(script, tmp_path / "b")
    for name in ("feed.jsonl", "truth.jsonl", "registry/persons.csv", "registry/devices.csv"):
        assert (city / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
