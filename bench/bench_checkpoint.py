"""What a work partition's checkpoint costs the live worker's loop.

    .venv/bin/python bench/bench_checkpoint.py                     # ~1 min
    .venv/bin/python bench/bench_checkpoint.py --persons 4000 --days 1 --partitions 8

A worker snapshots each changed partition every ten seconds on its event loop
(``streams.worker``), so a snapshot's time is time no event is processed and no
alert leaves. A simulated city is split as the router splits it; the engine of
the busiest partition runs over its share, then its snapshot is timed (best of five) and
restored. The event-id memory is the bulk of a long-running partition's
snapshot (``pipeline.dedup_capacity`` ids), so the figures are printed twice:
with the ids the run left, and with the memory topped up to its capacity with
ids shaped like the feed's, as after a few hours live. The baseline, in the
same run, is the same snapshot with the ids pickled as the dict they are kept
in (how checkpoints held them before they were saved as one JSON array).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import load_settings  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402
from gridwatch.replay import ReplayResult, read_feed  # noqa: E402
from streams.engine import Engine  # noqa: E402
from streams.routing import owner, split_by_partition  # noqa: E402


def best_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def partition_engine(city: Path, partitions: int) -> tuple[int, Engine]:
    """The busiest work partition and its engine after the events the router sends it
    (a small city's few grids leave some partitions empty)."""
    settings, registry = load_settings(), Registry.from_dir(city / "registry")
    events = list(read_feed(city / "feed.jsonl", io.BytesIO(), ReplayResult()))
    split = split_by_partition(events, Engine(settings, registry).detectors, partitions)
    busiest, mine = max(split.items(), key=lambda item: len(item[1]))
    engine = Engine(settings, registry, owns=owner(busiest, partitions))
    for i in range(0, len(mine), 2048):
        engine.process(mine[i:i + 2048])
    return busiest, engine


def measure(engine: Engine) -> tuple[int, float, float, float]:
    """(bytes, snapshot ms, restore ms, snapshot ms with the ids pickled as a dict)."""
    blob = engine.snapshot()
    snap = best_ms(engine.snapshot)
    fresh = Engine(engine.settings, engine.registry, owns=engine.owns)
    restore = best_ms(lambda: fresh.restore(blob))
    compact = engine.seen.dump
    engine.seen.dump = lambda: engine.seen.ids  # type: ignore[method-assign]
    try:
        as_dict = best_ms(engine.snapshot)
    finally:
        engine.seen.dump = compact  # type: ignore[method-assign]
    return len(blob), snap, restore, as_dict


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--persons", type=int, default=1000)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    from gridwatch.simulate import simulate

    with tempfile.TemporaryDirectory() as tmpdir:
        city = Path(tmpdir)
        simulate(city, persons=args.persons, days=args.days, seed=args.seed)
        partition, engine = partition_engine(city, args.partitions)
    print(f"partition {partition} of {args.partitions}, {args.persons} persons × {args.days} days: "
          f"{engine.stats['events']:,} events")
    print(f"{'event ids held':<32}{'bytes':>12}{'snapshot ms':>13}{'restore ms':>12}"
          f"{'ids as dict ms':>16}{'× faster':>10}")
    seen = engine.seen
    for label in ("as the run left them", "full (dedup_capacity)"):
        if label.startswith("full"):
            for n in range(seen.capacity - len(seen.ids)):
                seen.ids[f"i-{n:010d}"] = None
        size, snap, restore, as_dict = measure(engine)
        print(f"{len(seen.ids):>9,} {label:<22}{size:>12,}{snap:>13.1f}{restore:>12.1f}"
              f"{as_dict:>16.1f}{as_dict / snap:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
