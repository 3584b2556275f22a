"""The queue's chart row as inline SVG drawn on the server (issue 22): no script, no asset from
anywhere — the page's Content-Security-Policy (default-src 'none') would refuse one anyway."""

from services.casework.console.i18n import KINDS, named, w
from services.casework.console.pages_base import e

WIDTH, HEIGHT, PAD = 360, 170, 28
SERIES = (("open", "#1d39c4"), ("overdue", "#cf1322"), ("escalated", "#d46b08"))


def _scale(values: list[int]) -> float:
    top = max([*values, 1])
    return (HEIGHT - 2 * PAD) / top


def _short(label: str) -> str:
    """A kind's name under its bars: six Chinese characters, or English words to about 12 letters."""
    if label.isascii():
        return label if len(label) <= 12 else label[:11] + "…"
    return label[:6]


def kind_bars(by_kind: list[dict], lang: str) -> str:
    """Open, overdue and escalated tasks per kind: grouped bars with their numbers."""
    rows = by_kind or []
    scale = _scale([int(r.get(k) or 0) for r in rows for k, _ in SERIES])
    group = (WIDTH - PAD) / max(len(rows), 1)
    bar = min(18.0, (group - 8) / len(SERIES))
    parts = []
    for i, r in enumerate(rows):
        x0 = PAD + i * group
        for j, (key, colour) in enumerate(SERIES):
            value = int(r.get(key) or 0)
            h = value * scale
            x, y = x0 + j * bar, HEIGHT - PAD - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{e(named(KINDS, r.get('kind'), lang))} · {e(w(lang, key))}: {value}</title></rect>"
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">{value}</text>'
            )
        parts.append(
            f'<text x="{x0 + group / 2 - 4:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle">'
            f"{e(_short(named(KINDS, r.get('kind'), lang)))}</text>"
        )
    legend = "".join(
        f'<rect x="{PAD + j * 80}" y="4" width="10" height="10" fill="{c}"/>'
        f'<text x="{PAD + j * 80 + 14}" y="13" font-size="11">{e(w(lang, k))}</text>'
        for j, (k, c) in enumerate(SERIES)
    )
    empty = (
        "" if rows else f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{e(w(lang, "no_tasks"))}</text>'
    )
    return _svg("chart-kinds", w(lang, "by_kind_chart"), legend + "".join(parts) + empty)


def overdue_trend(weeks: list[dict], lang: str) -> str:
    """How many tasks were overdue at the end of each of the last 8 weeks (oldest first)."""
    values = [int(p.get("overdue") or 0) for p in weeks]
    scale = _scale(values)
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    points = [(PAD + i * step, HEIGHT - PAD - v * scale) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    marks = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#cf1322"><title>{e(p.get("on"))}: {v}</title></circle>'
        f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="10" text-anchor="middle">{v}</text>'
        f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" font-size="9" text-anchor="middle">{e(str(p.get("on"))[5:])}</text>'
        for (x, y), v, p in zip(points, values, weeks, strict=True)
    )
    axis = f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#8c8c8c"/>'
    body = axis + (f'<polyline points="{line}" fill="none" stroke="#cf1322" stroke-width="2"/>' if points else "")
    return _svg("chart-trend", w(lang, "trend_chart"), body + marks)


def _svg(id_: str, title: str, body: str) -> str:
    return (
        f'<figure class="chart"><figcaption>{e(title)}</figcaption>'
        f'<svg id="{id_}" role="img" aria-label="{e(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'preserveAspectRatio="xMidYMid meet"><title>{e(title)}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD / 2}" y2="{HEIGHT - PAD}" stroke="#bfbfbf"/>'
        f"{body}</svg></figure>"
    )


def chart_row(counts: dict, lang: str) -> str:
    return (
        f'<section id="charts" class="charts" aria-label="{e(w(lang, "charts"))}">'
        f"{kind_bars(counts.get('by_kind') or [], lang)}{overdue_trend(counts.get('overdue_weeks') or [], lang)}"
        "</section>"
    )
