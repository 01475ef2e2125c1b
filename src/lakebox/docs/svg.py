"""Inline SVG charts for the data docs: no script, no external resource, so a page works from file:// offline."""

from __future__ import annotations

from html import escape

SCORE_MAX = 100.0


def _points(values: list[float], width: float, height: float, pad: float) -> list[tuple[float, float]]:
    """Values spread evenly across the width, 0..100 bottom to top."""
    if not values:
        return []
    step = (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0.0
    found = []
    for n, value in enumerate(values):
        share = min(max(value, 0.0), SCORE_MAX) / SCORE_MAX
        x = pad + n * step if len(values) > 1 else width / 2
        found.append((round(x, 1), round(height - pad - share * (height - 2 * pad), 1)))
    return found


def _polyline(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in points)


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """A small line of scores (0..100) with the last one dotted; an empty figure when there are none."""
    label = escape(", ".join(f"{v:g}" for v in values) or "no scores", quote=True)
    head = (f'<svg class="spark" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="scores: {label}">')
    points = _points(values, width, height, 3)
    if not points:
        return head + "</svg>"
    x, y = points[-1]
    return (head + f'<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{_polyline(points)}"/>'
            f'<circle cx="{x}" cy="{y}" r="2.5" fill="#2563eb"/></svg>')


def score_chart(scores: list[tuple[str, float]], threshold: float | None, width: int = 760,
                height: int = 240) -> str:
    """Quality score per file in arrival order, with a dot per file (its key as the tooltip), gridlines every 25
    points and the contract's threshold dashed."""
    pad, left = 24, 36
    inner = width - left
    head = (f'<svg class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="quality score per file over time">')
    parts = [head]
    for level in (0, 25, 50, 75, 100):
        y = round(height - pad - level / SCORE_MAX * (height - 2 * pad), 1)
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - 4}" y2="{y}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="11" fill="#6b7280">'
                     f"{level}</text>")
    if threshold is not None:
        y = round(height - pad - min(max(threshold, 0), SCORE_MAX) / SCORE_MAX * (height - 2 * pad), 1)
        parts.append(f'<line class="threshold" x1="{left}" y1="{y}" x2="{width - 4}" y2="{y}" stroke="#dc2626" '
                     f'stroke-dasharray="5 4"/><text x="{width - 6}" y="{y - 4}" text-anchor="end" '
                     f'font-size="11" fill="#dc2626">threshold {threshold:g}</text>')
    points = [(x + left, y) for x, y in _points([s for _, s in scores], inner, height, pad)]
    if len(points) > 1:
        parts.append(f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{_polyline(points)}"/>')
    for (name, score), (x, y) in zip(scores, points, strict=True):
        colour = "#dc2626" if threshold is not None and score < threshold else "#2563eb"
        parts.append(f'<circle class="point" cx="{x}" cy="{y}" r="3.5" fill="{colour}">'
                     f"<title>{escape(name)}: {score:g}</title></circle>")
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#6b7280">'
                     "no scored files yet</text>")
    parts.append("</svg>")
    return "".join(parts)
