"""The ``gridwatch`` command: run, worker, replay, notify, silence, simulate, evaluate, …"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson

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
    from gridwatch.replay import deadletter_path, muted_path, replay
    from sinks.silence import SilenceError, load_silences

    settings = load_settings(args.config)
    registry = Registry.from_dir(args.registry)
    out = Path(args.out)
    try:
        silences = load_silences(args.silences) if args.silences else None
    except (OSError, SilenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = replay([Path(f) for f in args.feeds], registry, settings, out,
                    silences=silences, jobs=args.jobs)
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(result.by_kind.items())) or "none"
    print(f"replayed {result.events} events, {result.bad_lines} bad lines "
          f"(→ {deadletter_path(out)}), {result.alerts} alert updates ({kinds}) → {out}")
    if result.muted:
        print(f"{result.muted} updates muted by silences or inhibition → {muted_path(out)}")
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

    start = datetime.fromisoformat(args.start) if args.start else None
    extra = {"start": start} if start is not None else {}
    summary = simulate(Path(args.out), persons=args.persons, days=args.days, seed=args.seed,
                       incident_rate=args.incident_rate, max_disorder_s=args.max_disorder_s,
                       **extra)
    print(summary)
    if args.publish:
        return _publish_city(Path(args.out), args)
    return 0


def _publish_city(city: Path, args: argparse.Namespace) -> int:
    from gridwatch.broker import ensure_topics
    from gridwatch.runner import StopFlag, publish_city
    from streams.worker import worker_settings

    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        print("error: publishing needs Kafka: --bootstrap or "
              "GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2
    stop = StopFlag()
    stop.install()
    ensure_topics(settings)
    return publish_city(city, settings, args.speed, stop)


def _publish(args: argparse.Namespace) -> int:
    return _publish_city(Path(args.city), args)


def _watch(args: argparse.Namespace) -> int:
    from gridwatch.runner import main as runner_main

    argv = ["watch"] + (["--config", args.config] if args.config else []) + (
        ["--bootstrap", args.bootstrap] if args.bootstrap else [])
    return runner_main(argv)


def _evaluate(args: argparse.Namespace) -> int:
    from gridwatch.evaluate import format_table, load_jsonl, score

    print(format_table(score(load_jsonl(Path(args.alerts)), load_jsonl(Path(args.truth)))))
    return 0


def _config(args: argparse.Namespace) -> int:
    if args.action == "dump":
        print(dump_yaml(load_settings(args.file)), end="")
        return 0
    from config.check import check_file

    if not args.file:
        print("error: config check needs a FILE", file=sys.stderr)
        return 2
    settings, errors = check_file(args.file)
    for line in errors:
        print(f"{args.file}: {line}")
    if settings is None:
        return 1
    print(f"{args.file}: ok")
    return 0


def _run(args: argparse.Namespace) -> int:
    from gridwatch.runner import run_command

    return run_command(args)


def _notify(args: argparse.Namespace) -> int:
    from sinks.notify.runner import notify_command

    return notify_command(args)


def _silence(args: argparse.Namespace) -> int:
    from sinks.silence_store import silence_command

    return silence_command(args)


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
    r.add_argument("--speed", type=float, default=7200.0, help="event seconds per wall second")
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
    rp.add_argument("--silences", help="silences JSONL (`gridwatch silence list --all --json`)"
                    ": mute as live does")
    rp.add_argument("--jobs", type=int, help="processes running the detector families "
                    "(default: one per idle core, at most 4, for feeds of 16 MB or more); "
                    "same output")

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

    from sinks.notify.runner import add_arguments as notify_arguments
    from sinks.silence_store import add_arguments as silence_arguments

    notify_arguments(add("notify", _notify, "deliver gw.alerts to webhooks and files "
                         "(retries, dead letter)"))
    silence_arguments(add("silence", _silence, "add, list or expire silences (gw.silences)"))

    s = add("simulate", _simulate, "generate a simulated city: registry, feed, ground truth")
    s.add_argument("--out", required=True)
    s.add_argument("--persons", type=int, default=2000)
    s.add_argument("--days", type=int, default=7)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--start", help="first simulated day, ISO date with offset "
                   "(default 2026-11-01T00:00+08:00)")
    s.add_argument("--incident-rate", type=float, default=1.0,
                   help="scale the number of injected incidents")
    s.add_argument("--max-disorder-s", type=float, default=0.0,
                   help="shuffle events by up to this many seconds (late arrivals)")
    s.add_argument("--publish", action="store_true",
                   help="then publish the registry and feed to Kafka at --speed")
    pb = add("publish", _publish, "publish a simulated city's registry and feed to Kafka")
    pb.add_argument("city", help="a directory written by `gridwatch simulate`")
    w = add("watch", _watch, "print alert updates from gw.alerts as they arrive")
    for q in (s, pb, w):
        q.add_argument("--config")
        q.add_argument("--bootstrap", help="Kafka bootstrap servers (host:port)")
    for q in (s, pb):
        q.add_argument("--speed", type=float, default=3600.0,
                       help="simulated seconds per wall-clock second")

    e = add("evaluate", _evaluate, "recall, precision and delay of alerts against truth")
    e.add_argument("alerts")
    e.add_argument("--truth", required=True)

    from gridwatch.adapters.cli import add_commands as adapter_commands

    adapter_commands(add)

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
