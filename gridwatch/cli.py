"""The ``gridwatch`` command: run, worker, replay, simulate, evaluate, schema, config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
from pydantic import ValidationError

from config.models import dump_yaml, load_settings


def _schema(args: argparse.Namespace) -> int:
    from gridwatch.contract import json_schemas

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.schema.json").write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2))
    print(f"wrote {len(json_schemas())} JSON Schemas to {out}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from gridwatch.registry import Registry
    from gridwatch.replay import deadletter_path, replay

    settings = load_settings(args.config)
    registry = Registry.from_dir(args.registry)
    out = Path(args.out)
    result = replay([Path(f) for f in args.feeds], registry, settings, out)
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(result.by_kind.items())) or "none"
    print(f"replayed {result.events} events, {result.bad_lines} bad lines "
          f"(→ {deadletter_path(out)}), {result.alerts} alert updates ({kinds}) → {out}")
    if args.report:
        _backtest_report(args, out, result.events, result.bad_lines)
    return 0


def _backtest_report(args: argparse.Namespace, out: Path, events: int, bad: int) -> None:
    from gridwatch.evaluate import load_jsonl, score
    from gridwatch.report import write_report

    alerts = load_jsonl(out)
    scores = score(alerts, load_jsonl(Path(args.truth))) if args.truth else None
    facts = {"feeds": " ".join(args.feeds), "config": args.config or "defaults",
             "events": events, "bad lines": bad}
    path = write_report(Path(args.report), alerts, "gridwatch backtest", scores, facts)
    print(f"report → {path}")


def _tune(args: argparse.Namespace) -> int:
    from gridwatch.tune import ParamError, choose, parse_param, sweep, write_sweep_report

    try:
        path, values = parse_param(args.param)
        points = sweep([Path(f) for f in args.feeds], Path(args.registry), path, values,
                       Path(args.out), args.config, Path(args.truth) if args.truth else None,
                       args.kind or "", args.workers)
    except ParamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    best = choose(points, args.budget)
    for p in points:
        recall = "-" if p.recall is None else f"{p.recall:.2f}"
        print(f"{path}={p.value}: {p.episodes_per_day:.2f} episodes/day, recall {recall}")
    report = write_sweep_report(Path(args.out), path, points, best, args.budget)
    print(f"chosen: {path}={best.value}" if best else "no value meets the budget")
    print(f"report → {report}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from gridwatch.simulate import simulate

    summary = simulate(Path(args.out), persons=args.persons, days=args.days, seed=args.seed)
    print(summary)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from gridwatch.evaluate import format_table, load_jsonl, score

    print(format_table(score(load_jsonl(Path(args.alerts)), load_jsonl(Path(args.truth)))))
    return 0


def _config(args: argparse.Namespace) -> int:
    if args.action == "dump":
        print(dump_yaml(load_settings(args.file)), end="")
        return 0
    try:
        load_settings(args.file)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            path = ".".join(str(x) for x in err["loc"])
            print(f"{args.file}: {path}: {err['msg']} (got {err.get('input')!r})")
        return 1
    except (OSError, ValueError) as exc:
        print(f"{args.file}: {exc}")
        return 1
    print(f"{args.file}: ok")
    return 0


def _run(args: argparse.Namespace) -> int:
    from gridwatch.runner import run_command

    return run_command(args)


def _worker(args: argparse.Namespace) -> int:
    from streams.worker import worker_command

    return worker_command(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridwatch", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {}

    def add(name: str, fn: Callable[[argparse.Namespace], int],
            help_: str) -> argparse.ArgumentParser:
        commands[name] = fn
        return sub.add_parser(name, help=help_)

    r = add("run", _run, "embedded broker + worker + simulated city, alerts live")
    r.add_argument("--config")
    r.add_argument("--registry", help="registry CSV directory (default: a simulated city)")
    r.add_argument("--bootstrap", help="Kafka bootstrap servers (default: embedded broker)")
    r.add_argument("--persons", type=int, default=300)
    r.add_argument("--days", type=int, default=14)
    r.add_argument("--speed", type=float, default=3600.0, help="event seconds per wall second")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--no-simulate", action="store_true", help="do not publish a simulated city")
    r.add_argument("--duration", type=float, help="stop after this many wall seconds")
    r.add_argument("--workdir", type=Path, default=Path("out/run"))

    w = add("worker", _worker, "the Faust worker alone (for deployments)")
    w.add_argument("--config")
    w.add_argument("--registry")
    w.add_argument("--bootstrap")

    rp = add("replay", _replay, "run the detectors over recorded feeds")
    rp.add_argument("feeds", nargs="+")
    rp.add_argument("--registry", required=True)
    rp.add_argument("--out", required=True)
    rp.add_argument("--config")
    rp.add_argument("--report", help="write an HTML backtest report into this directory")
    rp.add_argument("--truth", help="ground-truth JSONL: adds recall/precision/delay")

    t = add("tune", _tune, "sweep one threshold: replay per value, report curves")
    t.add_argument("feeds", nargs="+")
    t.add_argument("--registry", required=True)
    t.add_argument("--param", required=True, help="PATH=V1,V2,… e.g. "
                   "sensor_threshold.rules.1.limit=10,20,40")
    t.add_argument("--out", required=True, help="directory for per-value alerts and report")
    t.add_argument("--config")
    t.add_argument("--truth")
    t.add_argument("--kind", help="alert kind whose volume and recall are plotted")
    t.add_argument("--budget", type=float, help="target episodes per day")
    t.add_argument("--workers", type=int, help="parallel replays (default: one per core)")

    s = add("simulate", _simulate, "generate a simulated city: registry, feed, ground truth")
    s.add_argument("--out", required=True)
    s.add_argument("--persons", type=int, default=2000)
    s.add_argument("--days", type=int, default=7)
    s.add_argument("--seed", type=int, default=1)

    e = add("evaluate", _evaluate, "recall, precision and delay of alerts against truth")
    e.add_argument("alerts")
    e.add_argument("--truth", required=True)

    sc = add("schema", _schema, "write the contract's JSON Schemas")
    sc.add_argument("--out", default="schemas")

    c = add("config", _config, "check a config file or print the defaults")
    c.add_argument("action", choices=["check", "dump"])
    c.add_argument("file", nargs="?")

    p.set_defaults(_commands=commands)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "config" and args.action == "check" and not args.file:
        parser.error("config check needs a FILE")
    return args._commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
