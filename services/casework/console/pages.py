"""HTML of the case officers' console, rendered on the server (no build step, no script). Every
value from the API goes through `e()` (html.escape): task titles and reports are outside text."""

from html import escape
from urllib.parse import quote

from services.common.lawdates import today
from services.common.policy import validity_warnings

STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;color:#1d2733;background:#f5f6f8}
header{background:#7a1f1f;color:#fff;padding:.6rem 1.2rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff} main{padding:1rem 1.2rem;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.2rem}
th,td{border:1px solid #d8dce2;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#eef0f3} tr.overdue td{background:#fff1f0} tr.escalated td:first-child{border-left:4px solid #d4380d}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;margin-right:.2rem;font-size:.8rem;color:#fff}
.b-overdue{background:#cf1322}.b-esc{background:#d46b08}.b-rem{background:#1d39c4}.b-state{background:#595959}
.box{background:#fff;border:1px solid #d8dce2;padding:.8rem 1rem;margin:.6rem 0}
.error{background:#fff1f0;border:1px solid #ffa39e;padding:.6rem 1rem}
.ok{background:#f6ffed;border:1px solid #b7eb8f;padding:.6rem 1rem}
.warning{background:#fffbe6;border:1px solid #ffe58f;padding:.6rem 1rem;margin:.4rem 0}.b-prov{background:#ad8b00}
label{display:block;margin:.3rem 0} input[type=text],input[type=date],textarea,select{width:100%;max-width:40rem}
fieldset{margin:.5rem 0;border:1px solid #d8dce2} nav a{margin-right:.8rem}
dl{display:grid;grid-template-columns:12rem 1fr}
dt{font-weight:600} dd{margin:0 0 .3rem} pre{white-space:pre-wrap;font-size:.85rem}
"""
KIND_NAMES = {
    "determination": "严重失信认定 determination",
    "repair_review": "信用修复审核 repair review",
    "appeal_review": "异议复核 appeal review",
    "push_failure": "推送失败 push failure",
    "listing_confirmation": "列入名单确认 listing confirmation",
}


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, who: dict | None = None, csrf: str = "") -> str:
    account = ""
    if who:
        account = (
            f"<span>{e(who['sub'])} · {e(who['role'])} · {e(who['region'])}</span> "
            f'<form method="post" action="/console/signout" style="display:inline">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button>Sign out</button></form>'
        )
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head><body>'
        f'<header><a href="/console"><b>政府采购信用 · 案件工作台</b> Case officers</a><div>{account}</div></header>'
        f"<main>{policy_banner(who)}{body}</main></body></html>"
    )


def policy_banner(who: dict | None) -> str:
    """Supervisors and administrators see, on every page, a policy applied past the validity it
    states with no continuation recorded (issue 16 point 2): the system keeps working meanwhile."""
    if not who or who.get("role") not in ("supervisor", "administrator"):
        return ""
    warnings = validity_warnings(today())
    return "".join(f'<div class="error policy-validity" role="alert">{e(w["warning"])}</div>' for w in warnings)


def message(error: str | None = None, ok: str | None = None) -> str:
    if error:
        return f'<div class="error" role="alert">{e(error)}</div>'
    if ok:
        return f'<div class="ok" role="status">{e(ok)}</div>'
    return ""


def signin(error: str | None = None) -> str:
    body = (
        f"<h1>Sign in</h1>{message(error)}"
        '<form method="post" action="/console/signin" class="box">'
        '<label for="token">Bearer token (JWT of a finance officer or supervisor)</label>'
        '<textarea id="token" name="token" rows="5" required></textarea>'
        "<p>A development token: <code>.venv/bin/python -m services.common.devtoken --role finance_officer"
        ' --org 410300 --region 410300</code></p><button id="signin">Sign in</button></form>'
    )
    return page("Sign in", body)


def marks(t: dict) -> str:
    out = f'<span class="badge b-state">{e(t["state"])}</span>'
    if t["overdue"]:
        out += '<span class="badge b-overdue">逾期 overdue</span>'
    if t["escalation_level"]:
        out += f'<span class="badge b-esc">升级 L{e(t["escalation_level"])} → {e(t["escalated_to_region"])}</span>'
    elif t["reminded"]:
        out += '<span class="badge b-rem">已提醒 reminded</span>'
    return out


FILTERS = (
    ("Active", "state=active"),
    ("Overdue", "state=active&overdue=true"),
    ("Escalated", "state=active&escalated=true"),
    ("Mine", "state=active&assignee=me"),
    ("Completed", "state=completed"),
    ("All", "state="),
)


def calendar_banner(warnings: list[str]) -> str:
    """Supervisors and administrators: a year without an official holiday arrangement (issue 12)."""
    return "".join(f'<div class="warning calendar-warning" role="alert">{e(w)}</div>' for w in warnings)


def provisional_mark(t: dict) -> str:
    if not t.get("provisional"):
        return ""
    title = "counted on the provisional calendar: may move later (never earlier) when the year is installed"
    return f' <span class="badge b-prov" title="{e(title)}">暂定 provisional</span>'


def calendar_home(status: dict, *, who: dict, csrf: str) -> str:
    """An administrator's console: the calendar's state and how to install a year (no task queue)."""
    rows = "".join(
        f"<tr><td>{e(y['year'])}</td><td>{e(y['status'])}</td><td>{e(y['source'])}</td></tr>"
        for y in (status["this_year"], status["next_year"])
    )
    body = (
        f"<h1>Working days</h1>{calendar_banner(status['warnings'])}"
        f'<table id="calendar"><thead><tr><th>Year</th><th>Status</th><th>Source</th></tr></thead><tbody>{rows}'
        "</tbody></table><p>Install the State Council's arrangement with <code>PUT /v1/calendar/{year}</code> "
        "(see the README, “Working days”); <code>GET /v1/calendar/{year}</code> shows any year.</p>"
    )
    return page("Working days", body, who=who, csrf=csrf)


def queue(
    tasks: dict,
    counts: dict,
    *,
    who: dict,
    csrf: str,
    error: str | None = None,
    warnings: list[str] | None = None,
    replicas: list[dict] | None = None,
) -> str:
    nav = "".join(f'<a href="/console?{q}">{e(name)}</a>' for name, q in FILTERS)
    rows = []
    for t in tasks["items"]:
        cls = " ".join(c for c, on in (("overdue", t["overdue"]), ("escalated", t["escalation_level"])) if on)
        rows.append(
            f'<tr class="{cls}" data-task="{e(t["id"])}"><td><a href="/console/tasks/{quote(t["id"])}">'
            f"{e(t['title'])}</a></td><td>{e(KIND_NAMES.get(t['kind'], t['kind']))}</td><td>{e(t['region'])}</td>"
            f"<td>{e(t['due_on'])}{provisional_mark(t)}</td><td>{marks(t)}</td><td>{e(t['assignee'] or '—')}</td></tr>"
        )
    table = (
        '<table id="queue"><thead><tr><th>Task</th><th>Kind</th><th>Region</th><th>Due (last day)</th>'
        "<th>State</th><th>Assignee</th></tr></thead><tbody>"
        + ("".join(rows) or '<tr><td colspan="6">No tasks.</td></tr>')
        + "</tbody></table>"
    )
    officers = "".join(
        f"<tr><td>{e(r['assignee'])}</td><td>{e(r['open'])}</td><td>{e(r['overdue'])}</td><td>{e(r['completed'])}</td></tr>"
        for r in counts["by_officer"]
    )
    regions = "".join(
        f"<tr><td>{e(r['region'])}</td><td>{e(r['open'])}</td><td>{e(r['unclaimed'])}</td><td>{e(r['overdue'])}</td>"
        f"<td>{e(r['escalated'])}</td></tr>"
        for r in counts["by_region"]
    )
    body = (
        f"<h1>Work queue</h1>{calendar_banner(warnings or [])}{message(error)}<nav>{nav}</nav>"
        f"<p>{e(tasks['total'])} task(s), by due date · as of {e(tasks['as_of'])}</p>{table}"
        '<h2>Open and overdue, per officer and per region</h2><div style="display:flex;gap:1rem">'
        '<table id="counts-officer"><thead><tr><th>Officer</th><th>Open</th><th>Overdue</th><th>Completed</th></tr>'
        f"</thead><tbody>{officers}</tbody></table>"
        '<table id="counts-region"><thead><tr><th>Region</th><th>Open</th><th>Unclaimed</th><th>Overdue</th>'
        f"<th>Escalated</th></tr></thead><tbody>{regions}</tbody></table></div>"
        f"{replica_table(replicas or [])}"
    )
    return page("Work queue", body, who=who, csrf=csrf)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{float(value):.1f} s"


def replica_table(replicas: list[dict]) -> str:
    """The lag of the services that judge applications against their copy of the records: an
    application they have not heard of yet is asked of the records' owner, so a lag delays no one,
    but a large one says the replica is falling behind."""
    if not replicas:
        return ""
    rows = "".join(
        f'<tr><td>{e(r["service"])}</td><td colspan="4">{e(r["error"])}</td></tr>'
        if "error" in r
        else f"<tr><td>{e(r['service'])}</td><td>{e(_seconds(r.get('lag_seconds')))}</td>"
        f"<td>{e(_seconds(r.get('apply_delay_seconds')))}</td><td>{e(r.get('newest_event_at') or '—')}</td>"
        f"<td>{e(r.get('events_applied'))}</td></tr>"
        for r in replicas
    )
    return (
        "<h2>Replicas of credit.records</h2>"
        '<table id="replicas"><thead><tr><th>Service</th><th>Age of newest event applied</th>'
        "<th>Delay of last batch</th><th>Newest event</th><th>Events since start</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
