"""``gridwatch tune``: replay once per candidate value of one threshold.

An operator names a parameter and its candidates; each is replayed with the
exact live detectors (in parallel processes, one per core), and the report
plots alert volume per day, recall and delay against the value, and names the
value that meets an alert budget. Nothing here decides anything a replay
would not: the sweep is replays and arithmetic.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.models import Settings, load_settings
from gridwatch.evaluate import first_updates, load_jsonl, score
from gridwatch.registry import Registry
from gridwatch.replay import replay
from gridwatch.svg import line_chart

SECTIONS = ("kafka", "pipeline", "detectors")


class ParamError(ValueError):
    """A ``--param`` that names no setting or gives a value the setting refuses."""


def parse_param(spec: str) -> tuple[str, list[Any]]:
    """``presence.elderly_alone.stay_in_hours=12,24`` → (path, [12, 24]).

    Paths not starting with a top-level section are under ``detectors``;
    values are read as YAML scalars so numbers stay numbers.
    """
    path, sep, values = spec.partition("=")
    if not sep or not path or not values:
        raise ParamError(f"--param {spec!r}: expected PATH=V1,V2,…")
    if path.split(".")[0] not in SECTIONS:
        path = "detectors." + path
    return path, [yaml.safe_load(v) for v in values.split(",")]


def with_value(settings: Settings, path: str, value: Any) -> Settings:
    """A copy of ``settings`` with one value replaced, validated like a config file."""
    data = settings.model_dump(mode="json")
    node: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise ParamError(f"{path}: no setting {key!r} here")
    last = keys[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict) and last in node:
        node[last] = value
    else:
        raise ParamError(f"{path}: no setting {last!r} here")
    try:
        return Settings.model_validate(data)
    except ValueError as exc:
        raise ParamError(f"{path}={value!r}: {exc}") from None


@dataclass
class Point:
    value: Any
    episodes_per_day: float
    recall: float | None
    median_delay_h: float | None
    alerts_file: str


def _one(args: tuple[list[str], str, str, dict[str, Any], str, str | None, Any]) -> Point:
    feeds, registry_dir, out, data, kind, truth, value = args
    settings = Settings.model_validate(data)
    out_path = Path(out)
    result = replay([Path(f) for f in feeds], Registry.from_dir(registry_dir), settings,
                    out_path, show_progress=False, jobs=1)  # the sweep has a process per value
    alerts = load_jsonl(out_path)
    # Episodes, not updates: the first one sent may have a seq above 1 (muted before).
    opened = [a for a in first_updates(alerts) if not kind or a["kind"] == kind]
    recall = delay = None
    if truth:
        s = score(alerts, load_jsonl(Path(truth))).get(kind) if kind else None
        if s is not None:
            recall, delay = s.recall, s.median_delay_h
    return Point(value, len(opened) / max(result.days, 1.0), recall, delay, str(out_path))


def sweep(feeds: list[Path], registry_dir: Path, path: str, values: list[Any], out: Path,
          config: str | None = None, truth: Path | None = None, kind: str = "",
          workers: int | None = None) -> list[Point]:
    """Replay once per value; ``kind`` restricts volume and recall to one alert kind."""
    base = load_settings(config)
    jobs = [([str(f) for f in feeds], str(registry_dir), str(out / f"value-{i}.jsonl"),
             with_value(base, path, v).model_dump(mode="json"), kind,
             str(truth) if truth else None, v) for i, v in enumerate(values)]
    out.mkdir(parents=True, exist_ok=True)
    n = workers or min(len(jobs), os.cpu_count() or 1)
    if n <= 1:
        return [_one(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=n) as pool:
        return list(pool.map(_one, jobs))


def choose(points: list[Point], budget: float | None) -> Point | None:
    """The value within the alert budget with the best recall, then the fewest alerts
    (at equal recall the rest are false); without a truth file, the most sensitive value
    within the budget (the most alerts)."""
    within = [p for p in points if budget is None or p.episodes_per_day <= budget]
    if not within:
        return None
    if all(p.recall is None for p in within):
        return max(within, key=lambda p: p.episodes_per_day)
    return max(within, key=lambda p: (p.recall or 0.0, -p.episodes_per_day))


def write_sweep_report(out: Path, path: str, points: list[Point], best: Point | None,
                       budget: float | None) -> Path:
    """The sweep's HTML: curves against the value, the table, and the chosen value."""
    numeric = all(isinstance(p.value, int | float) for p in points)
    xs = [float(p.value) if numeric else float(i) for i, p in enumerate(points)]
    charts = [
        line_chart(f"episodes per day vs {path}", xs, {"episodes/day": [p.episodes_per_day
                                                                       for p in points]}),
        line_chart(f"recall vs {path}", xs, {"recall": [p.recall for p in points]}),
        line_chart(f"median delay (h) vs {path}", xs,
                   {"delay h": [p.median_delay_h for p in points]}),
    ]
    rows = "".join(f"<tr><td>{p.value}</td><td>{p.episodes_per_day:.2f}</td>"
                   f"<td>{'–' if p.recall is None else f'{p.recall:.2f}'}</td>"
                   f"<td>{'–' if p.median_delay_h is None else f'{p.median_delay_h:.2f}'}"
                   f"</td></tr>" for p in points)
    verdict = (f"<p><strong>chosen: {path} = {best.value}</strong> (budget "
               f"{budget} episodes/day)</p>" if best else
               f"<p><strong>no value meets the budget of {budget} episodes/day</strong></p>")
    html = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>sweep</title></head>"
            f"<body><h1>sweep of {path}</h1>{verdict}<table border=1><tr><th>value</th>"
            f"<th>episodes/day</th><th>recall</th><th>median delay h</th></tr>{rows}</table>"
            + "".join(charts) + "</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    target.write_text(html, encoding="utf-8")
    return target
