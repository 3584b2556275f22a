"""The dashboard's charts as inline SVG drawn on the server (issue 17): no script, no asset, no
request anywhere. Each chart has a `<title>` per mark for screen readers; the numbers are in the
table beside it (dashboard.py)."""

from html import escape

WIDTH, HEIGHT, PAD, LEFT = 640, 220, 26, 44
COLOURS = ("#1d39c4", "#cf1322", "#389e0d", "#d46b08", "#722ed1")


def _top(values: list[float]) -> float:
    return max([*values, 1.0])


def _axis(top: float) -> str:
    y0, y1 = HEIGHT - PAD, PAD
    return (
        f'<line x1="{LEFT}" y1="{y0}" x2="{WIDTH - 6}" y2="{y0}" stroke="#8c8c8c"/>'
        f'<text x="{LEFT - 4}" y="{y1 + 4}" font-size="11" text-anchor="end">{top:g}</text>'
        f'<text x="{LEFT - 4}" y="{y0}" font-size="11" text-anchor="end">0</text>'
    )


def _legend(names: list[str]) -> str:
    return "".join(
        f'<rect x="{LEFT + i * 130}" y="4" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
        f'<text x="{LEFT + i * 130 + 14}" y="13" font-size="11">{escape(n)}</text>'
        for i, n in enumerate(names)
    )


def _svg(label: str, inner: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{inner}</svg>'
    )


def bars(label: str, categories: list[str], series: list[tuple[str, list[float]]]) -> str:
    """Grouped bars: one group per category, one bar per series, each with its number."""
    top = _top([v for _, values in series for v in values])
    span = (WIDTH - LEFT - 6) / max(len(categories), 1)
    bar = max(2.0, min(22.0, (span - 6) / max(len(series), 1)))
    scale = (HEIGHT - 2 * PAD) / top
    parts = [_axis(top), _legend([n for n, _ in series])]
    for i, cat in enumerate(categories):
        x0 = LEFT + i * span + 3
        for j, (name, values) in enumerate(series):
            v = values[i]
            h = v * scale
            x, y = x0 + j * bar, HEIGHT - PAD - h
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(cat)} · {escape(name)}: {v:g}</title></rect>'
            )
            if len(categories) * len(series) <= 24:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{y - 2:.1f}" font-size="10" text-anchor="middle">{v:g}</text>'
                )
        parts.append(
            f'<text x="{x0 + span / 2 - 3:.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle">'
            f"{escape(cat[-5:] if len(categories) > 6 else cat[:8])}</text>"
        )
    return _svg(label, "".join(parts))


def lines(label: str, categories: list[str], series: list[tuple[str, list[float]]]) -> str:
    """Lines over months, a point with its number per month."""
    top = _top([v for _, values in series for v in values])
    step = (WIDTH - LEFT - 34) / max(len(categories) - 1, 1)
    scale = (HEIGHT - 2 * PAD) / top
    parts = [_axis(top), _legend([n for n, _ in series])]
    for j, (name, values) in enumerate(series):
        colour = COLOURS[j % len(COLOURS)]
        points = [(LEFT + 10 + i * step, HEIGHT - PAD - v * scale) for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), cat, v in zip(points, categories, values, strict=True):
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(cat)} · {escape(name)}: {v:g}</title></circle>"
            )
    for i, cat in enumerate(categories):
        if len(categories) <= 12 or i % 2 == 0:
            parts.append(
                f'<text x="{LEFT + 10 + i * step:.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle">'
                f"{escape(cat[-5:])}</text>"
            )
    return _svg(label, "".join(parts))
