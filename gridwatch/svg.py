"""Tiny SVG charts for the backtest and sweep reports.

Self-contained HTML reports open anywhere (an operator's laptop, a locked-down
centre PC) with no JavaScript, no CDN and no plotting dependency; bar and line
charts are all the reports need.
"""

from __future__ import annotations

from html import escape

W, H, PAD = 560, 220, 40
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
SEVERITY_COLOURS = {"blue": "#1f77b4", "yellow": "#e6b800", "orange": "#ff7f0e",
                    "red": "#d62728"}


def bar_chart(title: str, data: dict[str, float], colours: dict[str, str] | None = None) -> str:
    """Vertical bars, one per key, labelled with their values."""
    if not data:
        return f"<p><em>{escape(title)}: no data</em></p>"
    top = max(data.values()) or 1.0
    step = (W - 2 * PAD) / len(data)
    parts = [_frame(title)]
    for i, (label, value) in enumerate(data.items()):
        h = (H - 2 * PAD) * value / top
        x = PAD + i * step
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
        parts.append(f'<rect x="{x + 2:.1f}" y="{H - PAD - h:.1f}" width="{step - 4:.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: {value:g}'
                     f'</title></rect>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{H - PAD - h - 3:.1f}" font-size="10" '
                     f'text-anchor="middle">{value:g}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{H - PAD + 12:.1f}" font-size="9" '
                     f'text-anchor="middle">{escape(_short(label))}</text>')
    return "".join(parts) + "</svg>"


def line_chart(title: str, xs: list[float], series: dict[str, list[float | None]]) -> str:
    """Lines over a shared x axis; ``None`` values leave a gap."""
    values = [v for ys in series.values() for v in ys if v is not None]
    if not xs or not values:
        return f"<p><em>{escape(title)}: no data</em></p>"
    lo_x, hi_x = min(xs), max(xs)
    top = max(values) or 1.0

    def sx(x: float) -> float:
        return PAD + (W - 2 * PAD) * ((x - lo_x) / (hi_x - lo_x) if hi_x > lo_x else 0.5)

    def sy(y: float) -> float:
        return H - PAD - (H - 2 * PAD) * y / top

    parts = [_frame(title)]
    for i, (name, ys) in enumerate(series.items()):
        pts = [f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True) if y is not None]
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{" ".join(pts)}"/>')
        parts.append(f'<text x="{W - PAD + 4}" y="{PAD + 12 * i}" font-size="10" '
                     f'fill="{colour}">{escape(name)}</text>')
    for x in xs:
        parts.append(f'<text x="{sx(x):.1f}" y="{H - PAD + 12}" font-size="9" '
                     f'text-anchor="middle">{x:g}</text>')
    parts.append(f'<text x="{PAD - 4}" y="{PAD}" font-size="9" text-anchor="end">{top:g}</text>')
    return "".join(parts) + "</svg>"


def _frame(title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W + 80}" height="{H}" '
            f'role="img"><title>{escape(title)}</title>'
            f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
            f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>')


def _short(label: str) -> str:
    return label if len(label) <= 14 else label[:13] + "…"
