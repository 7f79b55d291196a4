"""The Mini App's charts as SVG text, drawn on the server (no script library, nothing from the internet).

Colours are CSS classes (``bot/webapp_static/app.css``), so a chart follows
Telegram's light or dark theme like the rest of the page. Every text put into
the SVG is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 400
HEIGHT = 230
LEFT, RIGHT, TOP, BOTTOM = 30, 36, 12, 62


def _x(index: int, count: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + inner * (index + 0.5) / max(count, 1)


def trend_svg(
    labels: Sequence[str],
    bars: Sequence[int],
    lines: Sequence[tuple[str, str, Sequence[float | None]]],
    title: str,
) -> str:
    """Bars (counts, left axis) and lines (rates 0-100 %, right axis), one point per month.

    ``lines`` are (css class, legend text, values); a None value breaks its line.
    """
    count = len(labels)
    top = max([*bars, 1])
    inner_h = HEIGHT - TOP - BOTTOM
    bar_w = (WIDTH - LEFT - RIGHT) / max(count, 1) * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        y = TOP + inner_h * step / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{WIDTH - RIGHT + 4}" y="{y + 4:.1f}">{100 - 25 * step}%</text>')
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{round(top * (4 - step) / 4)}</text>")
    for index, (label, count_) in enumerate(zip(labels, bars, strict=True)):
        h = inner_h * count_ / top
        x = _x(index, count)
        parts.append(f'<rect class="bar" x="{x - bar_w / 2:.1f}" y="{TOP + inner_h - h:.1f}" width="{bar_w:.1f}"'
                     f' height="{h:.1f}"><title>{escape(label)}: {count_}</title></rect>')
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                     f"{escape(label[-2:])}</text>")
    legend_x, legend_y = LEFT, HEIGHT - BOTTOM + 34
    for css, legend, values in lines:
        segments: list[list[str]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                segments.append([])
                continue
            y = TOP + inner_h * (1 - value / 100)
            segments[-1].append(f"{_x(index, count):.1f},{y:.1f}")
            parts.append(f'<circle class="{css}" cx="{_x(index, count):.1f}" cy="{y:.1f}" r="3">'
                         f"<title>{escape(labels[index])}: {value:.1f}%</title></circle>")
        for points in segments:
            if len(points) > 1:
                parts.append(f'<polyline class="{css}" fill="none" points="{" ".join(points)}"/>')
        parts.append(f'<rect class="{css} key" x="{legend_x}" y="{legend_y - 9}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{legend_x + 14}" y="{legend_y}">{escape(legend)}</text>')
        legend_x += 14 + 12 * len(legend) + 12
        if legend_x > WIDTH - 120:
            legend_x, legend_y = LEFT, legend_y + 16
    parts.append("</svg>")
    return "".join(parts)


def score_svg(rows: Sequence[tuple[str, float | None]], title: str) -> str:
    """Horizontal bars of the units' assessment scores (0-100), best first."""
    row_h = 26
    height = TOP + row_h * max(len(rows), 1) + 8
    label_w = 130
    inner_w = WIDTH - label_w - 44
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart scores" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (name, score) in enumerate(rows):
        y = TOP + row_h * index
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(name)}</text>')
        if score is None:
            parts.append(f'<text class="axis" x="{label_w + 4}" y="{y + 16}">—</text>')
            continue
        w = inner_w * max(0.0, min(score, 100.0)) / 100
        parts.append(f'<rect class="score" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}"/>')
        parts.append(f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 16}">{score:.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)
