"""Presence quality on a simulated city: what ``gridwatch evaluate`` does not report.

    .venv/bin/python bench/presence_quality.py CITY_DIR ALERTS.jsonl

Prints, for the presence kinds: the evaluate table; precision again with
episodes that match an incident's ``also`` list (a sick resident's stay_in,
which the truth says is a right alert too) counted as right; false alarms per
watched person per day (strict: every episode matching no incident of its
kind; and explained: the ``also`` ones not counted); for each unexplained
``out_no_return``, how the outing ended in the feed (an ``in`` pass: a real
long outing; an ``out`` pass: the return was never recorded, the person was
home); and the presence episodes about negative controls (healthy
travellers, vacant homes, late sleepers, people home all day).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import load_settings  # noqa: E402
from detectors.presence import Presence  # noqa: E402
from gridwatch.evaluate import (  # noqa: E402
    _matches,
    _matches_also,
    _ts,
    first_updates,
    format_table,
    load_jsonl,
    score,
)
from gridwatch.registry import Registry  # noqa: E402

KINDS = ("stay_in", "out_no_return", "long_absent", "no_usage")
SAME_TRIP_S = 1800.0  # the detector's same_trip_minutes: later gates of the same exit


def explained(ep: dict, truth: list[dict], reg: Registry) -> bool:
    """An episode of a kind an incident lists under ``also``, about its subject: as
    ``gridwatch evaluate`` matches it, or through the registry (the incident's
    person's home, or a home's resident) where the truth does not name them."""
    sid = ep["subject"]["id"]
    for inc in truth:
        if _matches_also(ep, inc):
            return True
        detail = inc.get("detail", {})
        if ep["kind"] not in detail.get("also", []):
            continue
        person = detail.get("person_id") or inc["subject_id"]
        if sid == reg.person_house(person) or reg.person_house(sid) == inc["subject_id"]:
            if _matches(ep, {**inc, "kind": ep["kind"], "subject_id": sid}):
                return True
    return False


def next_passes(feed: Path, episodes: list[dict]) -> dict[str, str]:
    """Per episode id: the direction and time of the subject's next pass after leaving."""
    want: dict[str, list[dict]] = {}
    for e in episodes:
        want.setdefault(e["subject"]["id"], []).append(e)
    found: dict[str, tuple[float, str]] = {}
    with feed.open(encoding="utf-8") as fh:
        for line in fh:
            if '"access"' not in line or not any(pid in line for pid in want):
                continue
            ev = json.loads(line)
            for e in want.get(ev.get("person_id") or "", []):
                t, start = _ts(ev["ts"]) or 0.0, _ts(e["starts_at"]) or 0.0
                best = found.get(e["alert_id"])
                same_trip = ev["direction"] == "out" and t - start <= SAME_TRIP_S
                if t > start and not same_trip and (best is None or t < best[0]):
                    found[e["alert_id"]] = (t, ev["direction"])
    return {aid: f"next pass {d} after {(t - (_ts(e['starts_at']) or 0)) / 3600:.1f} h"
            for e in episodes if (hit := found.get(aid := e["alert_id"])) for t, d in [hit]}


def precision_with_also(eps: list[dict], truth: list[dict], reg: Registry) -> str:
    rows = []
    for kind in KINDS:
        mine = [e for e in eps if e["kind"] == kind]
        right = sum(any(_matches(e, i) for i in truth) or explained(e, truth, reg) for e in mine)
        if mine:
            rows.append(f"{kind} {right}/{len(mine)} = {right / len(mine):.2f}")
    return "precision counting the truth's 'also' alerts as right: " + ", ".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("city", type=Path, help="a directory written by gridwatch simulate")
    p.add_argument("alerts", type=Path, help="the alerts gridwatch replay wrote for it")
    args = p.parse_args()
    city, alerts_path = args.city, args.alerts
    reg = Registry.from_dir(city / "registry")
    truth = [i for i in load_jsonl(city / "truth.jsonl") if i["kind"] in KINDS]
    controls = load_jsonl(city / "controls.jsonl")
    alerts = [a for a in load_jsonl(alerts_path) if a["kind"] in KINDS]
    print(format_table(score(alerts, truth)))
    det = Presence(load_settings(None).detectors.presence, reg)
    watched = sum(det.rule(p) is not None for p in reg.persons)
    ts = [c["start"] for c in controls if c.get("start")] + [i["start"] for i in truth]
    days = (max(_ts(t) or 0 for t in ts) - min(_ts(t) or 0 for t in ts)) / 86400 + 1
    eps = first_updates(alerts)
    false = [e for e in eps if not any(_matches(e, i) for i in truth)]
    unexplained = [e for e in false if not explained(e, truth, reg)]
    print(precision_with_also(eps, truth, reg))
    ends = next_passes(city / "feed.jsonl",
                       [e for e in unexplained if e["kind"] == "out_no_return"])
    print(f"\nwatched persons {watched}, ~{days:.0f} days; false episodes {len(false)} "
          f"({len(false) / watched / days:.4f} per watched person-day), of which "
          f"{len(unexplained)} not explained by an incident's 'also' "
          f"({len(unexplained) / watched / days:.4f})")
    for e in unexplained:
        ev = e["evidence"]
        print(f"  false {e['kind']:<14} {e['subject']['id']}  {e['starts_at'][5:16]} -> "
              f"{e['ts'][5:16]}  {ev.get('rule')} {ev.get('threshold_hours')} h  "
              f"{ends.get(e['alert_id'], '')}")
    by_kind: dict[str, set[str]] = {}
    for c in controls:
        by_kind.setdefault(c["kind"], set()).add(c["subject_id"])
    for kind, ids in sorted(by_kind.items()):
        hits = [e for e in eps if e["subject"]["id"] in ids]
        print(f"{kind:<32} {len(ids):>4} subjects, {len(hits)} presence episodes")


if __name__ == "__main__":
    main()
