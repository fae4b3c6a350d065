"""The backtest report: what a configuration fired on recorded data, as one HTML file.

Operators read it before changing a threshold: alerts per kind, severity, grid
and day, and — when a ground-truth file is given — recall, precision and
detection delay per kind. It is a single self-contained file (inline SVG).
"""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from gridwatch.evaluate import KindScore, first_updates
from gridwatch.svg import SEVERITY_COLOURS, bar_chart

TOP_GRIDS = 20


def counts(alerts: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Episode counts per kind, severity (highest reached), grid and day."""
    opened = first_updates(alerts)
    top_severity: dict[str, str] = {}
    order = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
    for a in alerts:
        cur = top_severity.get(a["alert_id"], "blue")
        top_severity[a["alert_id"]] = max(cur, a["severity"], key=order.__getitem__)
    per_grid = Counter(a["grid"]["grid_id"] for a in opened)
    return {
        "kind": dict(sorted(Counter(a["kind"] for a in opened).items())),
        "severity": {s: float(sum(1 for v in top_severity.values() if v == s)) for s in order},
        "grid": dict(per_grid.most_common(TOP_GRIDS)),
        "day": dict(sorted(Counter(a["starts_at"][:10] for a in opened).items())),
    }


def _score_table(scores: dict[str, KindScore]) -> str:
    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{s.incidents}</td><td>{s.detected}</td>"
        f"<td>{s.episodes}</td><td>{f(s.recall)}</td><td>{f(s.precision)}</td>"
        f"<td>{f(s.median_delay_h)}</td></tr>" for k, s in sorted(scores.items()))
    return ("<table><tr><th>kind</th><th>incidents</th><th>detected</th><th>episodes</th>"
            "<th>recall</th><th>precision</th><th>median delay (h)</th></tr>"
            f"{rows}</table>")


def write_report(out_dir: Path, alerts: list[dict[str, Any]], title: str,
                 scores: dict[str, KindScore] | None = None,
                 facts: dict[str, Any] | None = None) -> Path:
    """Write ``index.html`` into ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    c = counts(alerts)
    facts_html = "".join(f"<li>{escape(str(k))}: {escape(str(v))}</li>"
                         for k, v in (facts or {}).items())
    body = [f"<h1>{escape(title)}</h1><ul>{facts_html}</ul>",
            f"<p>{len(alerts)} alert updates in {sum(c['kind'].values()):g} episodes.</p>",
            bar_chart("episodes per kind", c["kind"]),
            bar_chart("episodes per highest severity", c["severity"], SEVERITY_COLOURS),
            bar_chart(f"episodes per grid (top {TOP_GRIDS})", c["grid"]),
            bar_chart("episodes per day (by start)", c["day"])]
    if scores is not None:
        body.append("<h2>against ground truth</h2>" + _score_table(scores))
    html = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
