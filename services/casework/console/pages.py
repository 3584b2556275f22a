"""The console's sign-in, queue and calendar pages, rendered on the server (no build step, no script).
The queue: search (subject name, USCC, task id), pickers, sortable columns, paging, days left, the
chart row; each row becomes a card on a phone."""

from datetime import date
from urllib.parse import quote, urlencode

from services.casework.console.charts import chart_row
from services.casework.console.i18n import KINDS, STATES, beijing, named, w
from services.casework.console.pages_base import e, message, page
from services.common.workdays import RECKONER, Reckoner

PAGE_SIZE = 25
FILTERS = (
    ("active", {"state": "active"}),
    ("overdue", {"state": "active", "overdue": "true"}),
    ("escalated", {"state": "active", "escalated": "true"}),
    ("me", {"state": "active", "assignee": "me"}),
    ("completed", {"state": "completed"}),
    ("any", {"state": ""}),
)
COLUMNS = (
    ("title", "task"),
    ("kind", "kind"),
    ("region", "region"),
    ("opened_on", "opened"),
    ("due_on", "due"),
    (None, "days_left"),
    ("state", "state"),
    ("assignee", "assignee"),
)


def signin(error: str | None = None, lang: str = "zh") -> str:
    body = (
        f"<h1>{e(w(lang, 'signin'))}</h1>{message(error)}"
        '<form method="post" action="/console/signin" class="box">'
        f'<label for="token">{e(w(lang, "token_label"))}</label>'
        '<textarea id="token" name="token" rows="5" required></textarea>'
        f"<p>{e(w(lang, 'dev_token'))} <code>.venv/bin/python -m services.common.devtoken --role finance_officer"
        f' --org 410300 --region 410300</code></p><button id="signin">{e(w(lang, "signin"))}</button></form>'
    )
    return page(w(lang, "signin"), body, lang=lang)


def marks(t: dict, lang: str = "zh") -> str:
    out = f'<span class="badge b-state">{e(named(STATES, t["state"], lang))}</span>'
    if t["overdue"]:
        out += f'<span class="badge b-overdue">{e(w(lang, "overdue"))}</span>'
    if t["escalation_level"]:
        out += (
            f'<span class="badge b-esc">{e(w(lang, "escalated"))} L{e(t["escalation_level"])} → '
            f"{e(t['escalated_to_region'])}</span>"
        )
    elif t["reminded"]:
        out += f'<span class="badge b-rem">{e(w(lang, "reminded"))}</span>'
    return out


def provisional_mark(t: dict, lang: str = "zh") -> str:
    if not t.get("provisional"):
        return ""
    return f' <span class="badge b-prov" title="{e(w(lang, "provisional_title"))}">{e(w(lang, "provisional"))}</span>'


def days_left(t: dict, as_of: str, lang: str = "zh", reckoner: Reckoner = RECKONER) -> str:
    """Working days to the due date, or working days late, counted as the due date itself is (the
    process's reckoner, with the arrangements installed at run time); marked provisional when the
    count passes through a year without an official arrangement (e.g. a task late into a new year)."""
    if t["state"] not in ("open", "claimed") or not as_of:
        return "—"
    today, due = date.fromisoformat(as_of), date.fromisoformat(t["due_on"])
    # A provisional due date is marked beside it already; the count is marked when it alone is.
    counted_provisional = not t.get("provisional") and reckoner.any_provisional(today, due)
    mark = provisional_mark({"provisional": counted_provisional}, lang)
    if due < today:
        late = reckoner.working_days_between(due, today)
        text = w(lang, "late_working_days", n=late) if late else w(lang, "late")
        return f'<span class="left-late">{e(text)}</span>{mark}'
    if due == today:
        return f'<span class="left-soon">{e(w(lang, "due_today"))}</span>'
    left = reckoner.working_days_between(today, due)
    return f'<span class="{"left-soon" if left <= 2 else ""}">{e(w(lang, "working_days_left", n=left))}</span>{mark}'


def calendar_banner(warnings: list[str]) -> str:
    """Supervisors and administrators: a year without an official holiday arrangement (issue 12)."""
    return "".join(f'<div class="warning calendar-warning" role="alert">{e(x)}</div>' for x in warnings)


def calendar_home(status: dict, *, who: dict, csrf: str, lang: str = "zh") -> str:
    """An administrator's console: the calendar's state and how to install a year (no task queue)."""
    rows = "".join(
        f"<tr><td>{e(y['year'])}</td><td>{e(y['status'])}</td><td>{e(y['source'])}</td></tr>"
        for y in (status["this_year"], status["next_year"])
    )
    body = (
        f"<h1>{e(w(lang, 'working_days'))}</h1>{calendar_banner(status['warnings'])}"
        f'<table id="calendar"><thead><tr><th>{e(w(lang, "year"))}</th><th>{e(w(lang, "status"))}</th>'
        f"<th>{e(w(lang, 'source'))}</th></tr></thead><tbody>{rows}"
        "</tbody></table><p>Install the State Council's arrangement with <code>PUT /v1/calendar/{year}</code> "
        "(see the README, “Working days”); <code>GET /v1/calendar/{year}</code> shows any year.</p>"
    )
    return page(w(lang, "working_days"), body, who=who, csrf=csrf, lang=lang)


def _link(params: dict, **over: object) -> str:
    merged = {k: v for k, v in {**params, **over}.items() if v not in (None, "") or k == "state"}
    return "/console?" + urlencode(merged)


def _options(values: list[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>' for v, label in values
    )


def filter_form(params: dict, counts: dict, who: dict, lang: str) -> str:
    any_ = w(lang, "any")
    kinds = [("", any_), *((k, named(KINDS, k, lang)) for k in KINDS)]
    states = [(k, named(STATES, k, lang)) for k in ("active", "open", "claimed", "completed", "cancelled", "")]
    regions = [("", any_), *((r["region"], r["region"]) for r in counts.get("by_region") or [])]
    officers = {r["assignee"] for r in counts.get("by_officer") or []} - {who["sub"]}
    assignees = [("", any_), ("me", f"{w(lang, 'me')} ({who['sub']})"), *((o, o) for o in sorted(officers))]
    if params.get("region") and params["region"] not in {v for v, _ in regions}:
        regions.append((params["region"], params["region"]))
    checks = "".join(
        f'<label><input type="checkbox" name="{name}" value="true" id="f-{name}"'
        f"{' checked' if params.get(name) == 'true' else ''}> {e(w(lang, label))}</label>"
        for name, label in (("overdue", "overdue_only"), ("escalated", "escalated_only"))
    )
    return (
        '<form method="get" action="/console" class="filters" id="filters" role="search">'
        f'<label class="q">{e(w(lang, "search"))}<input type="search" id="q" name="q" value="{e(params.get("q", ""))}"'
        f' placeholder="{e(w(lang, "search_hint"))}"></label>'
        f'<label>{e(w(lang, "kind"))}<select name="kind" id="f-kind">'
        f"{_options(kinds, params.get('kind', ''))}</select></label>"
        f'<label>{e(w(lang, "region"))}<select name="region" id="f-region">'
        f"{_options(regions, params.get('region', ''))}</select></label>"
        f'<label>{e(w(lang, "state"))}<select name="state" id="f-state">{_options(states, params.get("state", ""))}'
        "</select></label>"
        f'<label>{e(w(lang, "assignee"))}<select name="assignee" id="f-assignee">'
        f"{_options(assignees, params.get('assignee', ''))}</select></label>"
        f'<div class="checks">{checks}<button id="apply">{e(w(lang, "apply"))}</button>'
        f'<a href="/console">{e(w(lang, "reset"))}</a></div>'
        f'<input type="hidden" name="sort" value="{e(params.get("sort", "due_on"))}"></form>'
    )


def _header(params: dict, lang: str) -> str:
    sort = params.get("sort", "due_on")
    cells = []
    for column, label in COLUMNS:
        if column is None:
            cells.append(f"<th>{e(w(lang, label))}</th>")
            continue
        on = sort.removeprefix("-") == column
        descending = sort.startswith("-")
        target = f"-{column}" if on and not descending else column
        arrow = (" ▼" if descending else " ▲") if on else ""
        aria = f' aria-sort="{"descending" if descending else "ascending"}"' if on else ""
        cells.append(
            f'<th{aria}><a href="{e(_link(params, sort=target, page=None))}" data-sort="{column}">'
            f"{e(w(lang, label))}{arrow}</a></th>"
        )
    return "".join(cells)


def queue_rows(tasks: dict, lang: str) -> str:
    rows = []
    label = {key: w(lang, key) for _, key in COLUMNS}
    for t in tasks["items"]:
        cls = " ".join(c for c, on in (("overdue", t["overdue"]), ("escalated", t["escalation_level"])) if on)
        subject = t.get("subject") or {}
        rows.append(
            f'<tr class="{cls}" data-task="{e(t["id"])}">'
            f'<td data-label="{e(label["task"])}">'
            f'<a href="/console/tasks/{quote(t["id"], safe="")}">{e(t["title"])}</a>'
            f'<br><small class="muted">{e(t["id"])} · {e(subject.get("id"))}</small></td>'
            f'<td data-label="{e(label["kind"])}">{e(named(KINDS, t["kind"], lang))}</td>'
            f'<td data-label="{e(label["region"])}">{e(t["region"])}</td>'
            f'<td data-label="{e(label["opened"])}">{e(t["opened_on"])}</td>'
            f'<td data-label="{e(label["due"])}">{e(t["due_on"])}{provisional_mark(t, lang)}</td>'
            f'<td data-label="{e(label["days_left"])}" class="days-left">'
            f"{days_left(t, tasks.get('as_of', ''), lang)}</td>"
            f'<td data-label="{e(label["state"])}">{marks(t, lang)}</td>'
            f'<td data-label="{e(label["assignee"])}">{e(t["assignee"] or "—")}</td></tr>'
        )
    return "".join(rows) or f'<tr><td colspan="{len(COLUMNS)}">{e(w(lang, "no_tasks"))}</td></tr>'


def pager(tasks: dict, params: dict, lang: str) -> str:
    total, limit, offset = tasks.get("total", 0), tasks.get("limit") or PAGE_SIZE, tasks.get("offset", 0)
    pages = max(1, -(-total // limit))
    current = offset // limit + 1
    links = []
    if current > 1:
        links.append(f'<a id="prev" href="{e(_link(params, page=current - 1))}">{e(w(lang, "prev"))}</a>')
    if current < pages:
        links.append(f'<a id="next" href="{e(_link(params, page=current + 1))}">{e(w(lang, "next"))}</a>')
    summary = w(lang, "total", n=total, page=current, pages=pages, as_of=tasks.get("as_of", ""))
    return f'<div class="pager"><span id="total">{e(summary)}</span>{"".join(links)}</div>'


def count_tables(counts: dict, lang: str) -> str:
    officers = "".join(
        f"<tr><td>{e(r['assignee'])}</td><td>{e(r['open'])}</td><td>{e(r['overdue'])}</td><td>{e(r['completed'])}</td></tr>"
        for r in counts["by_officer"]
    )
    regions = "".join(
        f"<tr><td>{e(r['region'])}</td><td>{e(r['open'])}</td><td>{e(r['unclaimed'])}</td><td>{e(r['overdue'])}</td>"
        f"<td>{e(r['escalated'])}</td></tr>"
        for r in counts["by_region"]
    )
    head = "".join(f"<th>{e(w(lang, k))}</th>" for k in ("open", "overdue"))
    return (
        f'<div class="counts"><div><h2>{e(w(lang, "per_officer"))}</h2><div class="scroll"><table id="counts-officer">'
        f"<thead><tr><th>{e(w(lang, 'officer'))}</th>{head}<th>{e(w(lang, 'completed'))}</th></tr></thead>"
        f'<tbody>{officers}</tbody></table></div></div><div><h2>{e(w(lang, "per_region"))}</h2><div class="scroll">'
        f'<table id="counts-region"><thead><tr><th>{e(w(lang, "region"))}</th><th>{e(w(lang, "open"))}</th>'
        f"<th>{e(w(lang, 'unclaimed'))}</th><th>{e(w(lang, 'overdue'))}</th><th>{e(w(lang, 'escalated'))}</th></tr>"
        f"</thead><tbody>{regions}</tbody></table></div></div></div>"
    )


def _on(current: bool) -> str:
    return ' class="on"' if current else ""


def queue(
    tasks: dict,
    counts: dict,
    *,
    who: dict,
    csrf: str,
    error: str | None = None,
    warnings: list[str] | None = None,
    replicas: list[dict] | None = None,
    lang: str = "zh",
    params: dict | None = None,
) -> str:
    params = params if params is not None else {"state": "active"}
    tabs = "".join(
        f'<a href="{e(_link(q))}"{_on(all(params.get(k, "") == v for k, v in q.items()))}>'
        f"{e(w(lang, key) if key != 'active' else named(STATES, 'active', lang))}</a>"
        for key, q in FILTERS
    )
    table = (
        f'<table id="queue" class="cards"><thead><tr>{_header(params, lang)}</tr></thead>'
        f"<tbody>{queue_rows(tasks, lang)}</tbody></table>"
    )
    body = (
        f"<h1>{e(w(lang, 'queue'))}</h1>{calendar_banner(warnings or [])}{message(error)}"
        f'{chart_row(counts, lang)}<nav class="tabs">{tabs}</nav>{filter_form(params, counts, who, lang)}'
        f"{pager(tasks, params, lang)}{table}{pager(tasks, params, lang) if len(tasks['items']) > 10 else ''}"
        f"{count_tables(counts, lang)}{replica_table(replicas or [], lang)}"
    )
    return page(w(lang, "queue"), body, who=who, csrf=csrf, lang=lang, here=_link(params))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{float(value):.1f} s"


def replica_table(replicas: list[dict], lang: str = "zh") -> str:
    """The lag of the services that judge applications against their copy of the records: an
    application they have not heard of yet is asked of the records' owner, so a lag delays no one,
    but a large one says the replica is falling behind."""
    if not replicas:
        return ""
    rows = "".join(
        f'<tr><td>{e(r["service"])}</td><td colspan="4">{e(r["error"])}</td></tr>'
        if "error" in r
        else f"<tr><td>{e(r['service'])}</td><td>{e(_seconds(r.get('lag_seconds')))}</td>"
        f"<td>{e(_seconds(r.get('apply_delay_seconds')))}</td><td>{e(beijing(r.get('newest_event_at')) or '—')}</td>"
        f"<td>{e(r.get('events_applied'))}</td></tr>"
        for r in replicas
    )
    head = "".join(f"<th>{e(w(lang, k))}</th>" for k in ("service", "lag", "batch_delay", "newest", "applied"))
    return (
        f"<h2>{e(w(lang, 'replicas'))}</h2>"
        f'<div class="scroll"><table id="replicas"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
    )
