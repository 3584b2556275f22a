"""The console's dashboard page (issue 17), served by the statistics service at `/console/dashboard`
(the gateway's longer prefix wins over casework's `/console`). Signed in with the console's cookie
(the token the casework console keeps, path /console); server-rendered, no script: a filter form
(region, first and last month), summary figures, charts as inline SVG, and under each chart its
numbers as a table one click away (`<details>`), with CSV and XLSX links of the same rows. Since the
push outcomes and the evaluations are counted: pushes to the national platforms delivered and failed
by month (and a table by platform), published evaluations and assessments by grade with interviews."""

import asyncio
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.auth import FINANCE_ROLES, Principal, _decode_with_settings
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.statistics import charts
from services.statistics.api import MONTH, Table, figures_for
from services.statistics.exports import FORMATS, TABLES, _table
from services.statistics.figures import Dashboard
from services.statistics.labels import label

router = APIRouter(include_in_schema=False)
COOKIE = "credit_console_token"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1d2733;background:#f5f6f8}
header{background:#7a1f1f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;
justify-content:space-between}
header a{color:#fff} main{padding:.8rem 1rem;max-width:1320px}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;background:#fff;border:1px solid #d8dce2;
padding:.6rem .8rem}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}
input{font:inherit;padding:.25rem;max-width:10rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem;margin:.8rem 0}
.card{background:#fff;border:1px solid #d8dce2;padding:.5rem .7rem}.card b{display:block;font-size:1.5rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));gap:.8rem}
figure{margin:0;background:#fff;border:1px solid #d8dce2;padding:.5rem .7rem;min-width:0}
figure svg{width:100%;height:auto;display:block} figcaption{font-weight:600;margin-bottom:.3rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:#fff}
th,td{border:1px solid #d8dce2;padding:.25rem .4rem;text-align:right} th{background:#eef0f3}
td:first-child,th:first-child{text-align:left}
.exports a{margin-right:.6rem;font-size:.85rem} summary{cursor:pointer;color:#1d39c4;margin:.3rem 0}
.error{background:#fff1f0;border:1px solid #ffa39e;padding:.6rem 1rem}
"""
MonthQ = Annotated[str | None, Query(pattern=MONTH)]
FromQ = Annotated[str | None, Query(alias="from", pattern=MONTH)]


def _page(title: str, body: str, who: Principal | None = None, status: int = 200) -> HTMLResponse:
    account = f"{escape(who.sub)} · {escape(who.region)}" if who else ""
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<header><strong>{escape(title)}</strong><span><a href="/console">任务队列</a> {account}</span></header>'
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def _principal(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return await asyncio.to_thread(_decode_with_settings, token)
    except Problem:
        return None


def _query(figures: Dashboard) -> str:
    p = figures.period
    return urlencode({"region": p.region, "from": p.from_month, "to": p.to_month})


def _table_html(figures: Dashboard, table: str) -> str:
    headers, body = _table(figures, table)
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in body)
    links = " ".join(
        f'<a download href="/console/dashboard/export/{table}.{fmt}?{_query(figures)}">导出 {fmt.upper()}</a>'
        for fmt in FORMATS
    )
    return (
        f'<details data-table="{table}"><summary>数据表：{escape(TABLES[table][0])}</summary>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></details>'
        f'<div class="exports">{links}</div>'
    )


def _figure(caption: str, svg: str, figures: Dashboard, table: str) -> str:
    caption_html = f"<figcaption>{escape(caption)}</figcaption>"
    return f'<figure data-chart="{table}">{caption_html}{svg}{_table_html(figures, table)}</figure>'


def _cards(figures: Dashboard) -> str:
    s = figures.summary
    rate = "—" if s.on_time_rate is None else f"{s.on_time_rate * 100:.1f}%"
    items: list[tuple[str, Any, str]] = [
        ("有效信用记录", s.records_in_force, "records_in_force"),
        ("其中严重失信", s.serious_in_force, "serious_in_force"),
        ("严重失信名单", s.blacklist, "blacklist"),
        ("期间新增记录", s.records_new, "records_new"),
        ("期间异议提出", s.appeals_filed, "appeals_filed"),
        ("期间修复通过", s.repairs_approved, "repairs_approved"),
        ("在办任务", s.tasks_open, "tasks_open"),
        ("已逾期任务", s.tasks_overdue, "tasks_overdue"),
        ("按期办结率", rate, "on_time_rate"),
        ("可抽取专家", s.experts_drawable, "experts_drawable"),
        ("期间推送成功", s.pushes_delivered, "pushes_delivered"),
        ("期间推送失败", s.pushes_failed, "pushes_failed"),
        ("期间发布评价结果", s.evaluations_published, "evaluations_published"),
        ("期间约谈", s.interviews, "interviews"),
    ]
    return (
        '<div class="cards">'
        + "".join(f'<div class="card" data-figure="{k}">{escape(n)}<b>{escape(str(v))}</b></div>' for n, v, k in items)
        + "</div>"
    )


def render(figures: Dashboard, who: Principal) -> str:
    p = figures.period
    months = [m.month for m in figures.months]
    form = (
        '<form class="filters" method="get" action="/console/dashboard">'
        f'<label>行政区划<input name="region" value="{escape(p.region)}" inputmode="numeric"></label>'
        f'<label>起始月份<input name="from" type="month" value="{escape(p.from_month)}"></label>'
        f'<label>截止月份<input name="to" type="month" value="{escape(p.to_month)}"></label>'
        "<button>查询</button></form>"
    )
    kinds = [str(label("kind", k.kind)) for k in figures.task_kinds]
    charts_html = [
        _figure(
            "有效记录与严重失信名单（月末）",
            charts.lines(
                "有效记录与严重失信名单",
                months,
                [
                    ("有效记录", [m.in_force for m in figures.months]),
                    ("严重失信名单", [m.blacklist for m in figures.months]),
                ],
            ),
            figures,
            "months",
        ),
        _figure(
            "每月新增记录、信用修复与异议",
            charts.bars(
                "每月新增记录、信用修复与异议",
                months,
                [
                    ("新增记录", [m.records_new for m in figures.months]),
                    ("修复申请", [m.repairs_submitted for m in figures.months]),
                    ("异议提出", [m.appeals_filed for m in figures.months]),
                ],
            ),
            figures,
            "months",
        ),
        _figure(
            "有效记录（按主体类型、严重程度）",
            charts.bars(
                "有效记录（按主体类型）",
                [f"{label('subject_type', r.subject_type)}·{label('severity', r.severity)}" for r in figures.in_force],
                [("记录数", [r.records for r in figures.in_force])],
            ),
            figures,
            "in_force",
        ),
        _figure(
            "任务办理（按类型）",
            charts.bars(
                "任务办理（按类型）",
                kinds,
                [
                    ("按期办结", [k.on_time for k in figures.task_kinds]),
                    ("逾期办结", [k.late for k in figures.task_kinds]),
                    ("已逾期在办", [k.overdue for k in figures.task_kinds]),
                ],
            ),
            figures,
            "task_kinds",
        ),
        _figure(
            "失信行为（有效记录前 20）",
            charts.bars(
                "失信行为",
                [r.behaviour_code for r in figures.behaviours],
                [("记录数", [r.records for r in figures.behaviours])],
            ),
            figures,
            "behaviours",
        ),
        _figure(
            "评审专家库",
            charts.bars(
                "评审专家库",
                [str(label("status", r.status)) for r in figures.experts],
                [("人数", [r.experts for r in figures.experts])],
            ),
            figures,
            "experts",
        ),
        _figure(
            "推送国家平台（按月）",
            charts.bars(
                "推送国家平台（按月）",
                [m.month for m in figures.pushes],
                [
                    ("推送成功", [m.delivered for m in figures.pushes]),
                    ("推送失败", [m.failed for m in figures.pushes]),
                ],
            ),
            figures,
            "pushes",
        ),
        _figure(
            "评价与考核结果（按等级）",
            charts.bars(
                "评价与考核结果",
                [f"{r.year}{label('subject_type', r.subject_type)}·{r.grade}" for r in figures.evaluations],
                [
                    ("发布结果", [r.published for r in figures.evaluations]),
                    ("约谈", [r.interviews for r in figures.evaluations]),
                ],
            ),
            figures,
            "evaluations",
        ),
    ]
    divisions = _table_html(figures, "divisions").replace("<details ", "<details open ", 1)
    tables = (
        f"<section><h2>各行政区划</h2>{divisions}</section>"
        f"<section><h2>经办人</h2>{_table_html(figures, 'officers')}</section>"
        f"<section><h2>履约期限逾期排名（采购人、代理机构）</h2>{_table_html(figures, 'deadlines')}</section>"
        f"<section><h2>推送国家平台（按平台）</h2>{_table_html(figures, 'push_platforms')}</section>"
    )
    return (
        f"{form}<p>行政区划 {escape(p.region)} 及其下级 · {escape(p.from_month)} 至 {escape(p.to_month)}</p>"
        f'{_cards(figures)}<div class="grid">{"".join(charts_html)}</div>{tables}'
    )


@router.get("/console/dashboard")
async def dashboard_page(
    request: Request, rt: RuntimeDep, region: str | None = None, from_: FromQ = None, to: MonthQ = None
) -> Response:
    who = await _principal(request)
    if who is None:
        return RedirectResponse("/console", status_code=303)
    if who.role not in FINANCE_ROLES:
        return _page("统计分析", '<p class="error">仅财政部门经办人和监督人员可查看统计分析。</p>', who, 403)
    try:
        figures = await figures_for(rt, who, region or None, from_ or None, to or None)
    except Problem as problem:
        return _page("统计分析", f'<p class="error">{escape(problem.detail or problem.title)}</p>', who, problem.status)
    return _page("统计分析", render(figures, who), who)


@router.get("/console/dashboard/export/{table}.{fmt}")
async def dashboard_export(
    table: Table,
    fmt: Literal["csv", "xlsx"],
    request: Request,
    rt: RuntimeDep,
    region: str | None = None,
    from_: FromQ = None,
    to: MonthQ = None,
) -> Response:
    who = await _principal(request)
    if who is None or who.role not in FINANCE_ROLES:
        raise Problem(403, "forbidden", "Not allowed", "finance officers and supervisors only")
    figures = await figures_for(rt, who, region or None, from_ or None, to or None)
    media, write = FORMATS[fmt]
    name = f"statistics-{table}-{figures.period.region}.{fmt}"
    return Response(
        write(figures, table),
        media_type=media,
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
