"""Console pages of the watch (issue 13): the warnings list with the rankings of purchasers and of
agencies (004 第8项), and a project's timeline. HTML only; the data comes from the watch's API
through the gateway, as the signed-in officer (routes in watch_routes.py)."""

from urllib.parse import quote

from services.casework.console.pages_base import e, message, page

LEVEL_NAMES = {"due_soon": "即将到期 due soon", "overdue": "已超期 overdue", "escalated": "已上报 escalated"}
# The rankings shown, by the `kind` of GET /v1/rankings: (table id, heading, first column).
RANKED = {
    "purchaser": ("rankings", "Purchasers' ranking 采购人排名", "Purchaser"),
    "agency": ("agency-rankings", "Agencies' ranking 代理机构排名", "Agency"),
}


def warnings_page(warnings: dict, rankings: dict[str, dict], *, who: dict, csrf: str, error: str | None = None) -> str:
    """`rankings`: the answer of GET /v1/rankings for each kind of RANKED (a missing one shows empty)."""
    nav = "".join(f'<a href="/console/warnings?level={level}">{e(name)}</a> ' for level, name in LEVEL_NAMES.items())
    rows = "".join(_warning_row(w) for w in warnings.get("items", []))
    body = (
        f"<h1>Deadline warnings 履约预警</h1>{message(error)}<nav>{nav}</nav>"
        '<table id="warnings"><thead><tr><th>Project</th><th>Stage</th><th>Level</th><th>Due</th>'
        "<th>Responsible</th><th>Region</th><th>Raised</th></tr></thead><tbody>"
        + (rows or '<tr><td colspan="7">No warnings.</td></tr>')
        + "</tbody></table>"
        + "".join(_ranking(kind, rankings.get(kind) or {}) for kind in RANKED)
    )
    return page("Deadline warnings", body, who=who, csrf=csrf)


def _ranking(kind: str, ranking: dict) -> str:
    table, heading, column = RANKED[kind]
    ranked = "".join(
        f"<tr><td>{e(r['party']['id'])}</td><td>{_rate(r['on_time_rate'])}</td>"
        f"<td>{e(r['average_delay_working_days'])}</td><td>{e(r['open_overdue'])}</td></tr>"
        for r in ranking.get("items", [])
    )
    return (
        f"<h2>{e(heading)} {e(ranking.get('period', ''))} 指标完成情况</h2>"
        f'<table id="{table}"><thead><tr><th>{column}</th><th>On time</th><th>Average delay (working days)</th>'
        "<th>Open overdue</th></tr></thead><tbody>"
        + (ranked or '<tr><td colspan="4">No deadlines due in the period.</td></tr>')
        + "</tbody></table>"
    )


def timeline_page(project: dict | None, *, who: dict, csrf: str, error: str | None = None) -> str:
    if project is None:
        return page("Project", f"<h1>Project</h1>{message(error)}", who=who, csrf=csrf)
    stages = "".join(
        f'<tr class="{e(s["state"])}"><td>{e(s["stage"])}</td><td>{e(s["contract_no"] or "—")}</td>'
        f"<td>{e(s['due_on'])}{' (provisional 暂定)' if s['provisional'] else ''}</td><td>{e(s['done_at'] or '—')}</td>"
        f"<td>{e(s['state'])}{' · late 逾期' if s['late'] else ''}</td><td>{e(s['level'] or '—')}</td>"
        f"<td>{_task(s['task_id'])}</td><td>{e(s['basis'])}</td></tr>"
        for s in project["stages"]
    )
    facts = "".join(
        f"<tr><td>{e(f['type'])}</td><td>{e(f['at'])}</td><td>{e(f['contract_no'] or '—')}</td>"
        f"<td>{e(f['source'])}</td><td>{'⚠ ' + e(f['conflicts_with']) if f['conflicts_with'] else ''}</td></tr>"
        for f in project["facts"]
    )
    body = (
        f"<h1>{e(project['code'])} · {e(project['name'])} ({e(project['region'])})</h1>{message(error)}"
        '<table id="stages"><thead><tr><th>Stage</th><th>Contract</th><th>Due (last day)</th><th>Done</th>'
        "<th>State</th><th>Warning</th><th>Task</th><th>Basis</th></tr></thead><tbody>"
        + (stages or '<tr><td colspan="8">No deadline clock.</td></tr>')
        + "</tbody></table><h2>Facts received</h2>"
        '<table id="facts"><thead><tr><th>Type</th><th>At</th><th>Contract</th><th>Source</th>'
        "<th>Conflicts with</th></tr></thead><tbody>" + facts + "</tbody></table>"
    )
    return page(f"Project {project['code']}", body, who=who, csrf=csrf)


def _warning_row(w: dict) -> str:
    link = f"/console/projects/{quote(w['region'])}/{quote(w['project']['code'])}"
    level = LEVEL_NAMES.get(w["level"], w["level"])
    return (
        f'<tr class="{e(w["level"])}"><td><a href="{e(link)}">{e(w["project"]["code"])}</a></td>'
        f"<td>{e(w['stage'])}</td><td>{e(level)}</td><td>{e(w['due_on'])}</td><td>{e(w['responsible']['id'])}</td>"
        f"<td>{e(w['region'])}</td><td>{e(w['raised_at'])}</td></tr>"
    )


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _task(task_id: str | None) -> str:
    return f'<a href="/console/tasks/{quote(task_id)}">{e(task_id)}</a>' if task_id else "—"
