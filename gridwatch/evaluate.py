"""Score alerts against a ground-truth file: recall, precision and delay per kind.

An incident is detected when an episode of the same kind about the same
subject starts inside the incident's window (from ``start`` minus a small
slack — baselines may notice the first minutes — to ``end`` plus a grace
period). Grouped findings (a whole building offline, a crowd at a gate of a
grid) also match by grid. Precision counts episodes, not updates: an episode
that matches no incident is a false alarm.

An incident may list other kinds that rightly fire on it under
``detail.also`` (a resident sick in bed for two days is a ``no_usage``
incident and rightly raises a ``stay_in`` too; a person who left and
vanished is ``long_absent`` and rightly ``out_no_return`` first). An episode
of such a kind about the incident's subject (or its ``detail.person_id``)
inside its window is a right alert, not a false one; it does not count as
detecting an incident of its own kind (recall and delay are unchanged), and
the table notes the incidents found only that way.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

GROUP_SUBJECTS = ("grid", "building", "gate")
SLACK_BEFORE_S = 3600.0
GRACE_AFTER_S = 6 * 3600.0


@dataclass
class KindScore:
    incidents: int = 0
    detected: int = 0
    episodes: int = 0
    true_episodes: int = 0
    found_as_also: int = 0  # missed by its own kind, found by a kind it lists under ``also``
    delays_s: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.detected / self.incidents if self.incidents else None

    @property
    def precision(self) -> float | None:
        return self.true_episodes / self.episodes if self.episodes else None

    @property
    def median_delay_h(self) -> float | None:
        return statistics.median(self.delays_s) / 3600 if self.delays_s else None


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def first_updates(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first update of every episode (its opening), in file order."""
    seen: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        if alert["status"] == "firing" and alert["alert_id"] not in seen:
            seen[alert["alert_id"]] = alert
    return list(seen.values())


def _matches(episode: dict[str, Any], inc: dict[str, Any]) -> bool:
    if episode["kind"] != inc["kind"]:
        return False
    same = episode["subject"]["id"] == inc["subject_id"]
    members = inc.get("detail", {}).get("members", [])
    grouped = inc["subject_type"] in GROUP_SUBJECTS and (
        episode["grid"]["grid_id"] == inc.get("grid_id") or episode["subject"]["id"] in members)
    if not (same or grouped or episode["subject"]["id"] in members):
        return False
    t = _ts(episode["ts"]) or 0.0
    start = _ts(inc["start"]) or 0.0
    end = _ts(inc.get("end"))
    return start - SLACK_BEFORE_S <= t <= (end if end is not None else float("inf")) + GRACE_AFTER_S


def _matches_also(episode: dict[str, Any], inc: dict[str, Any]) -> bool:
    """An episode of a kind the incident lists under ``also``, about its subject: the
    incident's own, its person, or its home (a fall's ``no_usage`` is about the house)."""
    detail = inc.get("detail", {})
    if episode["kind"] not in detail.get("also", []):
        return False
    sid = episode["subject"]["id"]
    if sid not in (inc["subject_id"], detail.get("person_id"), detail.get("house_id")):
        return False
    return _matches(episode, {**inc, "kind": episode["kind"], "subject_id": sid,
                              "subject_type": episode["subject"]["type"]})


def score(alerts: list[dict[str, Any]], truth: list[dict[str, Any]]) -> dict[str, KindScore]:
    """Per-kind scores; kinds present in either file appear."""
    episodes = first_updates(alerts)
    scores: dict[str, KindScore] = {}
    for inc in truth:
        scores.setdefault(inc["kind"], KindScore()).incidents += 1
    matched: set[str] = set()
    for inc in truth:
        hits = [e for e in episodes if _matches(e, inc)]
        if hits:
            s = scores[inc["kind"]]
            s.detected += 1
            first = min(_ts(e["ts"]) or 0.0 for e in hits)
            s.delays_s.append(max(0.0, first - (_ts(inc["start"]) or 0.0)))
            matched.update(e["alert_id"] for e in hits)
        also = [e for e in episodes if _matches_also(e, inc)]
        matched.update(e["alert_id"] for e in also)
        if also and not hits:
            scores[inc["kind"]].found_as_also += 1
    for e in episodes:
        s = scores.setdefault(e["kind"], KindScore())
        s.episodes += 1
        s.true_episodes += e["alert_id"] in matched
    return scores


def format_table(scores: dict[str, KindScore]) -> str:
    """A plain-text table for the terminal and the docs."""
    def f(x: float | None, pattern: str = "{:.2f}") -> str:
        return "-" if x is None else pattern.format(x)
    lines = [f"{'kind':<18}{'incidents':>10}{'detected':>10}{'episodes':>10}"
             f"{'recall':>8}{'precision':>10}{'median delay h':>16}"]
    for kind in sorted(scores):
        s = scores[kind]
        lines.append(f"{kind:<18}{s.incidents:>10}{s.detected:>10}{s.episodes:>10}"
                     f"{f(s.recall):>8}{f(s.precision):>10}{f(s.median_delay_h):>16}")
    for kind in sorted(scores):
        if scores[kind].found_as_also:
            lines.append(f"{kind}: {scores[kind].found_as_also} of the missed found by a kind "
                         "the truth lists under 'also'")
    return "\n".join(lines)
