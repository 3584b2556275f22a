"""The annual credit report of a region as a PDF (issue 17, Xuchang item 5): a cover, the year's
summary figures, charts (records in force and new records by month, tasks by kind), rankings
(divisions; purchasers' and agencies' missed deadlines once the watch sends them), and notable cases
by category — only entries of notices already published (`notice.published.v1`), as published
(natural persons' names and identifiers masked by the publication service) — and the agency
evaluations and purchaser assessments published in the year (by year evaluated, kind and grade, with
the interviews they called for). The summary counts the pushes to the national platforms delivered
and failed.

The Chinese font is embedded: WenQuanYi Zen Hei (`fonts-wqy-zenhei`, installed by deploy/test.sh
and in the image) as a TrueType subset; without it the report is not made (FontMissing), never made
with a font that is not embedded."""

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.statistics.figures import Dashboard
from services.statistics.labels import label

FONT = "CreditCJK"
FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
# x, y, width, height of a chart in its drawing (points, whole: the stubs type them int).
CHART_BOX = (round(12 * mm), round(12 * mm), round(150 * mm), round(48 * mm))
SECTIONS = ("一、年度概况", "二、图表", "三、排名", "四、典型案例", "五、评价与考核结果")


class FontMissing(RuntimeError):
    """No CJK TrueType font to embed: the report is not made rather than made unreadable."""


def _font() -> str:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    candidates = list(FONT_FILES)
    for path in candidates:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    raise FontMissing(f"no CJK font among {candidates}: install fonts-wqy-zenhei")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=26, leading=34, alignment=1),
        "subtitle": ParagraphStyle("subtitle", fontName=font, fontSize=14, leading=22, alignment=1),
        "h1": ParagraphStyle("h1", fontName=font, fontSize=16, leading=24, spaceBefore=6, spaceAfter=6),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceBefore=4, spaceAfter=2),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=15),
    }


def _table(font: str, header: list[str], rows: Sequence[Sequence[Any]]) -> Table:
    data = [header, *[[str(c) for c in r] for r in rows]] if rows else [header, ["（无）"] + [""] * (len(header) - 1)]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f3")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa3ad")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _bars(font: str, title: str, categories: list[str], series: list[list[float]], names: list[str]) -> Drawing:
    if not categories:  # nothing to draw: one empty category, so the axes still show
        categories, series = ["—"], [[0] for _ in names]
    drawing = Drawing(170 * mm, 70 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = CHART_BOX
    chart.data = [tuple(s) for s in series]
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    palette = [colors.HexColor(c) for c in ("#1d39c4", "#cf1322", "#389e0d")]
    for i in range(len(chart.data)):
        chart.bars[i].fillColor = palette[i % len(palette)]
    drawing.add(chart)
    drawing.add(String(12 * mm, 64 * mm, f"{title}（{'、'.join(names)}）", fontName=font, fontSize=10))
    return drawing


def _line(font: str, title: str, categories: list[str], values: list[float]) -> Drawing:
    drawing = Drawing(170 * mm, 70 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = CHART_BOX
    chart.data = [tuple(values) or (0,)]
    chart.categoryAxis.categoryNames = categories or ["—"]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    chart.lines[0].strokeColor = colors.HexColor("#1d39c4")
    drawing.add(chart)
    drawing.add(String(12 * mm, 64 * mm, title, fontName=font, fontSize=10))
    return drawing


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def cases_by_category(cases: Sequence[dict[str, Any]], per_category: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Published entries grouped by severity and behaviour code, the latest first, a few of each."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in sorted(cases, key=lambda c: (str(c.get("published_on", "")), str(c.get("record_id"))), reverse=True):
        key = f"{label('severity', c.get('severity'))} · {c.get('behaviour_code', '')}"
        if len(groups[key]) < per_category:
            groups[key].append(c)
    return dict(sorted(groups.items()))


def build_pdf(
    figures: Dashboard, cases: Sequence[dict[str, Any]], *, region_name: str, year: int, made_on: date
) -> bytes:
    font = _font()
    st = _styles(font)
    s = figures.summary
    story: list[Any] = [
        Spacer(1, 60 * mm),
        Paragraph(f"{region_name}政府采购信用年度报告", st["title"]),
        Spacer(1, 8 * mm),
        Paragraph(f"{year} 年度", st["subtitle"]),
        Paragraph(f"行政区划代码 {figures.period.region}（含下级行政区划）", st["subtitle"]),
        Spacer(1, 30 * mm),
        Paragraph(f"编制日期：{made_on.isoformat()}", st["subtitle"]),
        PageBreak(),
        Paragraph(SECTIONS[0], st["h1"]),
        _table(
            font,
            ["指标", "数值"],
            [
                ["年末有效信用记录", s.records_in_force],
                ["其中严重失信记录", s.serious_in_force],
                ["年末严重失信名单", s.blacklist],
                ["全年新增信用记录", s.records_new],
                ["全年异议提出", s.appeals_filed],
                ["全年信用修复通过", s.repairs_approved],
                ["任务按期办结率", _rate(s.on_time_rate)],
                ["年末在办任务（其中逾期）", f"{s.tasks_open}（{s.tasks_overdue}）"],
                ["可抽取评审专家", s.experts_drawable],
                ["推送国家平台成功（失败）", f"{s.pushes_delivered}（{s.pushes_failed}）"],
                ["全年发布评价与考核结果（约谈）", f"{s.evaluations_published}（{s.interviews}）"],
            ],
        ),
        Paragraph(SECTIONS[1], st["h1"]),
    ]
    months = [m.month[-2:] + "月" for m in figures.months]
    story.append(_line(font, "月末有效信用记录", months, [m.in_force for m in figures.months]))
    story.append(
        _bars(
            font,
            "每月新增记录与异议",
            months,
            [[m.records_new for m in figures.months], [m.appeals_filed for m in figures.months]],
            ["新增记录", "异议提出"],
        )
    )
    kinds = [str(label("kind", k.kind)) for k in figures.task_kinds]
    story.append(
        _bars(
            font,
            "任务办理（按类型）",
            kinds,
            [[k.on_time for k in figures.task_kinds], [k.late for k in figures.task_kinds]],
            ["按期办结", "逾期办结"],
        )
    )
    story += [
        PageBreak(),
        Paragraph(SECTIONS[2], st["h1"]),
        Paragraph("各行政区划（按新增记录）", st["h2"]),
        _table(
            font,
            ["行政区划", "新增记录", "有效记录", "严重失信名单", "异议提出", "按期率"],
            [
                [d.region, d.records_new, d.in_force, d.blacklist, d.appeals_filed, _rate(d.on_time_rate)]
                for d in sorted(figures.divisions, key=lambda d: (-d.records_new, d.region))
            ],
        ),
        Paragraph("采购人、代理机构履约期限逾期（次数）", st["h2"]),
        _table(
            font,
            ["名称", "类型", "逾期次数"],
            [
                [d.name or d.responsible_id, label("responsible_type", d.responsible_type), d.overdue]
                for d in figures.deadlines
            ],
        ),
        Paragraph(SECTIONS[3], st["h1"]),
        Paragraph("以下案例均摘自本年度已公开发布的通报，按公开内容列示。", st["body"]),
    ]
    grouped = cases_by_category(cases)
    if not grouped:
        story.append(Paragraph("本年度无已公开发布的案例。", st["body"]))
    for category, items in grouped.items():
        story.append(Paragraph(category, st["h2"]))
        story.append(
            _table(
                font,
                ["主体", "类型", "记录日期", "通报"],
                [
                    [
                        c.get("subject_name", ""),
                        label("subject_type", c.get("subject_type")),
                        c.get("recorded_on", ""),
                        c.get("notice_id", ""),
                    ]
                    for c in items
                ],
            )
        )
    story += [
        Paragraph(SECTIONS[4], st["h1"]),
        Paragraph("本年度发布的代理机构年度评价与采购人绩效考核结果（按评价年度、对象类型、等级）。", st["body"]),
        _table(
            font,
            ["评价年度", "对象类型", "等级", "发布结果数", "约谈"],
            [
                [r.year, label("subject_type", r.subject_type), r.grade, r.published, r.interviews]
                for r in figures.evaluations
            ],
        ),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, title=f"{region_name}{year}年度政府采购信用报告", author="政府采购信用系统"
    )
    doc.build(story)
    return out.getvalue()
