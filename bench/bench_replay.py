"""Replay speed, as a ratio to plain ``orjson.loads`` of the same feed file.

    .venv/bin/python bench/bench_replay.py                      # a simulated city, ~1 min
    .venv/bin/python bench/bench_replay.py --persons 3000 --days 7
    .venv/bin/python bench/bench_replay.py --feed F.jsonl --registry DIR

Operators wait for replay, so its figure is measured against the cheapest
possible reading of the same bytes in the same run: ``orjson.loads`` of every
line (the baseline), then the validated parse alone (what replay pays before
any detector runs), then ``gridwatch replay`` itself with every detector on, in
one process and in ``--jobs`` processes (the detector families split among them;
the baseline stays one core's, so that figure says what the machine gives, not
what a core does). Ratios, not absolute rates, are what carry from one machine
to another.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from config.models import load_settings  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402
from gridwatch.replay import ReplayResult, read_feed, replay  # noqa: E402


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    """(items, seconds) of one call; the best of two, so a cold page cache does not count."""
    best = float("inf")
    n = 0
    for _ in range(2):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return n, best


def orjson_only(feed: Path) -> int:
    n = 0
    with feed.open("rb") as fh:
        for line in fh:
            orjson.loads(line)
            n += 1
    return n


def parse_only(feed: Path) -> int:
    return sum(1 for _ in read_feed(feed, io.BytesIO(), ReplayResult()))


def full_replay(feed: Path, registry: Path, config: str | None, out: Path, jobs: int) -> int:
    """``gridwatch replay`` in ``jobs`` processes (one: also parsing in its own)."""
    result = replay([feed], Registry.from_dir(registry), load_settings(config), out,
                    show_progress=False, parallel_parse=False, jobs=jobs)
    return result.events


def city(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path]:
    if args.feed:
        return Path(args.feed), Path(args.registry)
    from gridwatch.simulate import simulate

    simulate(tmp, persons=args.persons, days=args.days, seed=args.seed)
    return tmp / "feed.jsonl", tmp / "registry"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--feed")
    p.add_argument("--registry")
    p.add_argument("--config")
    p.add_argument("--persons", type=int, default=500)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2, help="processes of the parallel replay")
    args = p.parse_args()
    if bool(args.feed) != bool(args.registry):
        p.error("--feed and --registry go together")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        feed, registry = city(args, tmp)
        mb = feed.stat().st_size / 1e6
        n, base = timed(lambda: orjson_only(feed))
        _, parse = timed(lambda: parse_only(feed))
        _, full = timed(lambda: full_replay(feed, registry, args.config, tmp / "one.jsonl", 1))
        _, jobs = timed(lambda: full_replay(feed, registry, args.config, tmp / "jobs.jsonl",
                                            args.jobs))
        same = (tmp / "one.jsonl").read_bytes() == (tmp / "jobs.jsonl").read_bytes()
    print(f"feed: {n} events, {mb:.1f} MB ({feed})")
    print(f"{'stage':<42}{'events/s':>12}{'× orjson.loads':>16}")
    for name, secs in (("orjson.loads per line (baseline)", base),
                       ("validated parse (fast path)", parse),
                       ("gridwatch replay, every detector", full),
                       (f"gridwatch replay --jobs {args.jobs}", jobs)):
        print(f"{name:<42}{n / secs:>12,.0f}{base / secs:>16.3f}")
    print(f"--jobs {args.jobs} wrote the same alerts as one process: {same}; "
          f"{full / jobs:.2f}x its speed on {os.cpu_count()} cores")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
