"""The console's signals list (issue 14): the tasks a signal opened, in two tabs — collusion triage
(Luoyang Art. 10) and the determinations the signals service asked for (repeat or fabricated
complaints, Art. 8(15)/(16); breached commitments; referred collusion) — searchable, paged, each row
a card on a phone with its evidence summed up: which indicators joined how many bidders, which
complaints fell in the window. The task page lays the evidence out side by side (evidence.py)."""

from urllib.parse import quote, urlencode

from services.casework.console.evidence import INDICATORS, signal_of
from services.casework.console.i18n import KINDS, STATES, named, w, worded
from services.casework.console.pages import marks
from services.casework.console.pages_base import e, message, page

PAGE_SIZE = 25
# tab -> the GET /v1/tasks filters it shows
SIGNAL_TABS: dict[str, dict[str, str]] = {
    "collusion": {"kind": "collusion_triage"},
    "determinations": {"kind": "determination", "signal": "true"},
}
WORDS = {
    "signals": ("信用信号", "Signals"),
    "collusion": ("串通投标研判", "Suspected collusion"),
    "determinations": ("信号转认定（投诉、承诺、串通）", "Determinations asked by signals"),
    "search": ("搜索", "Search"),
    "search_hint": ("供应商代码、项目或任务编号", "supplier USCC, project or task id"),
    "state": ("状态", "State"),
    "apply": ("筛选", "Filter"),
    "evidence": ("证据摘要", "Evidence"),
    "bidders": ("{n} 家投标人", "{n} bidder(s)"),
    "complaints": ("{n} 件投诉", "{n} complaint(s)"),
    "window": ("窗口 {start} 至 {through}", "window {start} – {through}"),
    "none": ("没有信号任务。", "No tasks opened by signals."),
    "total": ("共 {n} 项 · 第 {page}/{pages} 页", "{n} task(s) · page {page}/{pages}"),
}


def t(lang: str, key: str, **values: object) -> str:
    return worded(WORDS, lang, key, **values)


def evidence_summary(task: dict, lang: str) -> str:
    """One line: the indicators and how many bidders, or the complaints and their window."""
    signal = signal_of(task)
    if signal is None:
        return "—"
    parts = []
    indicators = [i for i in signal.get("indicators") or [] if isinstance(i, dict)]
    if indicators:
        codes = dict.fromkeys(str(i.get("code") or i.get("kind")) for i in indicators)
        parts += [f'<span class="badge b-esc">{e(named(INDICATORS, c, lang))}</span>' for c in codes]
        parts.append(e(t(lang, "bidders", n=len(signal.get("suppliers") or []))))
    complaints = signal.get("complaints") or []
    if complaints:
        parts.append(e(t(lang, "complaints", n=len(complaints))))
        window = signal.get("window")
        if isinstance(window, dict):
            parts.append(e(t(lang, "window", start=window.get("from"), through=window.get("through"))))
    if not parts and signal.get("rule"):
        parts.append(e(signal["rule"]))
    return " ".join(parts) or "—"


def _link(params: dict, **over: object) -> str:
    return "/console/signals?" + urlencode({k: v for k, v in {**params, **over}.items() if v not in (None, "")})


def signals_page(
    tasks: list[dict],
    total: int,
    params: dict,
    number: int,
    *,
    who: dict,
    csrf: str,
    lang: str,
    error: str | None = None,
) -> str:
    tab = params.get("tab", "collusion")
    tabs = "".join(
        f'<a id="tab-{name}" href="{e(_link({**params, "tab": name, "page": None}))}"'
        f"{' class=on' if name == tab else ''}>{e(t(lang, name))}</a>"
        for name in SIGNAL_TABS
    )
    states = "".join(
        f'<option value="{e(k)}"{" selected" if params.get("state", "active") == k else ""}>'
        f"{e(named(STATES, k, lang))}</option>"
        for k in ("active", "open", "claimed", "completed", "cancelled", "")
    )
    form = (
        '<form method="get" action="/console/signals" class="filters" id="filters" role="search">'
        f'<input type="hidden" name="tab" value="{e(tab)}">'
        f'<label class="q">{e(t(lang, "search"))}<input type="search" id="q" name="q" '
        f'value="{e(params.get("q", ""))}" placeholder="{e(t(lang, "search_hint"))}"></label>'
        f'<label>{e(t(lang, "state"))}<select name="state" id="f-state">{states}</select></label>'
        f'<div class="checks"><button id="apply">{e(t(lang, "apply"))}</button></div></form>'
    )
    rows = "".join(
        f'<tr data-task="{e(x["id"])}"><td data-label="{e(w(lang, "task"))}">'
        f'<a href="/console/tasks/{quote(x["id"], safe="")}">{e(x.get("title"))}</a>'
        f'<br><small class="muted">{e(x["id"])}</small></td>'
        f'<td data-label="{e(w(lang, "kind"))}">{e(named(KINDS, x.get("kind"), lang))}</td>'
        f'<td data-label="{e(w(lang, "region"))}">{e(x.get("region"))}</td>'
        f'<td data-label="{e(w(lang, "due"))}">{e(x.get("due_on"))}</td>'
        f'<td data-label="{e(w(lang, "state"))}">{marks(x, lang) if "overdue" in x else ""}</td>'
        f'<td data-label="{e(t(lang, "evidence"))}" class="evidence-summary">{evidence_summary(x, lang)}</td></tr>'
        for x in tasks
    )
    head = "".join(
        f"<th>{e(x)}</th>"
        for x in (
            w(lang, "task"),
            w(lang, "kind"),
            w(lang, "region"),
            w(lang, "due"),
            w(lang, "state"),
            t(lang, "evidence"),
        )  # fmt: skip
    )
    pages = max(1, -(-total // PAGE_SIZE))
    links = "".join(
        f'<a id="{name}" href="{e(_link(params, page=target))}">{e(w(lang, name))}</a>'
        for name, target, show in (("prev", number - 1, number > 1), ("next", number + 1, number < pages))
        if show
    )
    summary = t(lang, "total", n=total, page=number, pages=pages)
    pager = f'<div class="pager"><span id="total">{e(summary)}</span>{links}</div>'
    empty = f'<tr><td colspan="6">{e(t(lang, "none"))}</td></tr>'
    body = (
        f'<h1>{e(t(lang, "signals"))}</h1>{message(error)}<nav class="tabs">{tabs}</nav>{form}{pager}'
        f'<table id="signals" class="cards"><thead><tr>{head}</tr></thead><tbody>{rows or empty}</tbody></table>'
    )
    return page(t(lang, "signals"), body, who=who, csrf=csrf, lang=lang, here=_link(params, page=number))
