"""Console pages of the evaluations (issue 15): the published lists of agencies and purchasers with
their grades, one subject's result with every number's provenance (for a purchaser the seven-category
indicator tree, the officer's adjustments and their reasons), the review and interview tasks linked,
and the stored inspection draws. HTML only; the data comes from the evaluations service's API through
the gateway, as the signed-in officer (routes in evaluation_routes.py)."""

import re
from collections import Counter
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from services.casework.console.i18n import KINDS, STATES, beijing, named, w, worded
from services.casework.console.pages_base import e, message, page

PAGE_SIZE = 25
EVALUATED = ("agency", "purchaser")
DRAWN_KINDS = ("", "agency", "supplier", "purchaser")  # "": any
WORDS = {
    "evaluations": ("考核评价", "Evaluations"),
    "agency": ("代理机构年终评价", "Agencies' evaluation"),
    "purchaser": ("采购人绩效考核", "Purchasers' assessment"),
    "draws": ("信用分级抽查记录", "Inspection draws"),
    "region": ("地区", "Region"),
    "period": ("年度", "Year"),
    "search": ("搜索代码", "Search a code"),
    "apply": ("查询", "Show"),
    "grades": ("等级分布（已公布）", "Grades (published)"),
    "published": ("已公布结果（按得分排名）", "Published results (ranked)"),
    "rank": ("名次", "Rank"),
    "subject": ("主体", "Subject"),
    "total": ("得分", "Score"),
    "grade": ("等级", "Grade"),
    "published_at": ("公布时间", "Published"),
    "none": ("该年度尚无已公布的结果。", "Nothing published for the year."),
    "tasks": ("复核与约谈任务", "Review and interview tasks"),
    "no_tasks": ("没有相关任务。", "No such tasks."),
    "state": ("状态", "State"),
    "current": ("当前计算结果（未公布）", "current computation (not published)"),
    "published_state": ("已公布", "published"),
    "policy": ("政策", "Policy"),
    "interview": ("约谈", "Interview"),
    "interview_yes": ("低于约谈线 {value}，须约谈", "under the interview line {value}: interview"),
    "interview_no": ("不低于约谈线 {value}", "not under the interview line {value}"),
    "tree": ("七类指标", "The seven categories"),
    "lines": ("得分明细", "How the score is made"),
    "indicator": ("指标", "Indicator"),
    "source": ("数据来源", "Source"),
    "figure": ("数据", "Figure"),
    "rule": ("计分规则", "Rule"),
    "points": ("得分", "Points"),
    "provenance": ("出处", "Provenance"),
    "adjustments": ("经办人调整及理由", "Officers' adjustments and reasons"),
    "no_adjustments": ("无调整。", "No adjustment."),
    "officer": ("经办人", "Officer"),
    "reason": ("理由", "Reason"),
    "read_from": ("读取自 {ref}（{at}）", "read from {ref} ({at})"),
    "entered_by": ("{officer} 录入：{reason}", "entered by {officer}: {reason}"),
    "category_points": ("{points} / {weight} 分", "{points} of {weight} points"),
    "drawn_at": ("抽取时间", "Drawn at"),
    "kind": ("对象", "Kind"),
    "size": ("抽取数", "Size"),
    "seed": ("随机种子", "Seed"),
    "drawn_by": ("抽取人", "Drawn by"),
    "drawn": ("抽中", "Drawn"),
    "population": ("抽取范围（按等级）", "Population (by grade)"),
    "no_draws": ("尚无抽查记录。", "No draws yet."),
    "rerun": ("以同一种子重抽：{path}", "Re-run with the same seed: {path}"),
    "total_n": ("共 {n} 项 · 第 {page}/{pages} 页", "{n} item(s) · page {page}/{pages}"),
    "all": ("全部", "all"),
    "back": ("← 考核评价", "← evaluations"),
    "results": ("考核结果（逐项出处）", "The results, every number's provenance"),
}
SOURCES = {
    "watch": ("履约监测", "deadline watch"),
    "records": ("信用记录", "credit records"),
    "officer": ("经办人录入", "officer input"),
    "policy": ("政策规定", "policy"),
}
SUBJECT_KINDS = {
    "agency": ("代理机构", "agency"),
    "purchaser": ("采购人", "purchaser"),
    "supplier": ("供应商", "supplier"),
}


def t(lang: str, key: str, **values: object) -> str:
    return worded(WORDS, lang, key, **values)


def _empty(columns: int, text: str) -> str:
    return f'<tr><td colspan="{columns}">{e(text)}</td></tr>'


def subject_href(kind: str, subject_id: str, region: str, period: str) -> str:
    query = urlencode({"region": region, "period": period})
    return f"/console/evaluations/{quote(kind, safe='')}/{quote(subject_id, safe='')}?{query}"


def _tabs(current: str, params: dict, lang: str) -> str:
    links = []
    for kind in (*EVALUATED, "draws"):
        query = {k: v for k, v in {**params, "kind": kind}.items() if v and k in ("region", "period", "kind")}
        href = "/console/evaluations/draws?" if kind == "draws" else "/console/evaluations?"
        if kind == "draws":
            query.pop("kind", None)
            query.pop("period", None)
        on = ' class="on"' if kind == current else ""
        links.append(f'<a href="{e(href + urlencode(query))}"{on} id="tab-{kind}">{e(t(lang, kind))}</a>')
    return f'<nav class="tabs">{"".join(links)}</nav>'


def _filters(action: str, params: dict, lang: str, *, period: bool = True, kinds: tuple[str, ...] = ()) -> str:
    fields = [
        f'<label class="q">{e(t(lang, "search"))}<input type="search" id="q" name="q" value="{e(params.get("q", ""))}">'
        "</label>",
        f'<label>{e(t(lang, "region"))}<input type="text" id="f-region" name="region" inputmode="numeric" '
        f'pattern="[0-9]{{6}}" value="{e(params.get("region", ""))}"></label>',
    ]
    if period:
        fields.append(
            f'<label>{e(t(lang, "period"))}<input type="text" id="f-period" name="period" inputmode="numeric" '
            f'pattern="[0-9]{{4}}" value="{e(params.get("period", ""))}"></label>'
        )
    if kinds:
        options = "".join(
            f'<option value="{e(k)}"{" selected" if params.get("kind", "") == k else ""}>'
            f"{e(named(SUBJECT_KINDS, k, lang) if k else t(lang, 'all'))}</option>"
            for k in kinds
        )
        fields.append(f'<label>{e(t(lang, "kind"))}<select id="f-kind" name="kind">{options}</select></label>')
    elif params.get("kind"):
        fields.append(f'<input type="hidden" name="kind" value="{e(params["kind"])}">')
    return (
        f'<form method="get" action="{e(action)}" class="filters" id="filters" role="search">{"".join(fields)}'
        f'<div class="checks"><button id="apply">{e(t(lang, "apply"))}</button></div></form>'
    )


def _pager(total: int, number: int, base: str, params: dict, lang: str) -> str:
    pages = max(1, -(-total // PAGE_SIZE))
    links = []
    keep = {k: v for k, v in params.items() if v and k != "page"}
    if number > 1:
        links.append(
            f'<a id="prev" href="{e(base + "?" + urlencode({**keep, "page": number - 1}))}">{e(w(lang, "prev"))}</a>'
        )
    if number < pages:
        links.append(
            f'<a id="next" href="{e(base + "?" + urlencode({**keep, "page": number + 1}))}">{e(w(lang, "next"))}</a>'
        )
    summary = t(lang, "total_n", n=total, page=number, pages=pages)
    return f'<div class="pager"><span id="total">{e(summary)}</span>{"".join(links)}</div>'


def grade_counts(items: list[dict], lang: str) -> str:
    counts = Counter(str(i.get("grade")) for i in items)
    boxes = "".join(
        f'<div data-grade="{e(g)}"><b>{e(g)}</b> {n}</div>' for g, n in sorted(counts.items(), key=lambda x: x[0])
    )
    return f'<h2>{e(t(lang, "grades"))}</h2><div class="grades" id="grades">{boxes or "—"}</div>'


def task_rows(tasks: list[dict], lang: str) -> str:
    rows = "".join(
        f'<tr data-task="{e(x.get("id"))}"><td data-label="{e(w(lang, "task"))}">'
        f'<a href="/console/tasks/{quote(str(x.get("id")), safe="")}">{e(x.get("title"))}</a></td>'
        f'<td data-label="{e(w(lang, "kind"))}">{e(named(KINDS, x.get("kind"), lang))}</td>'
        f'<td data-label="{e(t(lang, "state"))}">{e(named(STATES, x.get("state"), lang))}</td>'
        f'<td data-label="{e(w(lang, "due"))}">{e(x.get("due_on"))}</td></tr>'
        for x in tasks
    )
    head = "".join(f"<th>{e(x)}</th>" for x in (w(lang, "task"), w(lang, "kind"), t(lang, "state"), w(lang, "due")))
    return (
        f'<h2>{e(t(lang, "tasks"))}</h2><table id="evaluation-tasks" class="cards"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows or _empty(4, t(lang, 'no_tasks'))}</tbody></table>"
    )


def list_page(
    kind: str,
    listing: dict | None,
    tasks: list[dict],
    params: dict,
    number: int,
    *,
    who: dict,
    csrf: str,
    lang: str,
    error: str | None = None,
) -> str:
    """The published results of `kind` for a region and year, ranked, searchable and paged."""
    items = (listing or {}).get("items") or []
    query = params.get("q", "").strip().upper()
    shown = [i for i in items if query in str(i.get("subject_id", "")).upper()] if query else items
    page_items = shown[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    rows = "".join(
        f'<tr data-subject="{e(i.get("subject_id"))}">'
        f'<td data-label="{e(t(lang, "rank"))}">{e(i.get("rank"))}</td>'
        f'<td data-label="{e(t(lang, "subject"))}"><a href="'
        f'{e(subject_href(kind, str(i.get("subject_id")), str(i.get("region")), params.get("period", "")))}">'
        f"{e(i.get('subject_id'))}</a></td>"
        f'<td data-label="{e(t(lang, "region"))}">{e(i.get("region"))}</td>'
        f'<td data-label="{e(t(lang, "total"))}">{e(i.get("total"))}</td>'
        f'<td data-label="{e(t(lang, "grade"))}"><span class="badge b-state">{e(i.get("grade"))}</span></td>'
        f'<td data-label="{e(t(lang, "published_at"))}">{e(beijing(i.get("published_at")))}</td></tr>'
        for i in page_items
    )
    head = "".join(f"<th>{e(t(lang, k))}</th>" for k in ("rank", "subject", "region", "total", "grade", "published_at"))
    body = (
        f"<h1>{e(t(lang, 'evaluations'))} · {e(t(lang, kind))}</h1>{message(error)}{_tabs(kind, params, lang)}"
        f"{_filters('/console/evaluations', params, lang)}{grade_counts(items, lang)}"
        f"<h2>{e(t(lang, 'published'))}</h2>{_pager(len(shown), number, '/console/evaluations', params, lang)}"
        f'<table id="published" class="cards"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows or _empty(6, t(lang, 'none'))}</tbody></table>"
        f"{task_rows(tasks, lang)}"
    )
    here = "/console/evaluations?" + urlencode({k: v for k, v in params.items() if v})
    return page(t(lang, kind), body, who=who, csrf=csrf, lang=lang, here=here)


def _figure(line: dict) -> str:
    if line.get("figure") is None:
        return "—"
    return f"{line.get('figure')} = {line.get('value')}"


def provenance(line: dict, lang: str) -> str:
    """Where a number came from: the fetched figure's source and when, or the officer and the reason."""
    parts = []
    read = line.get("read_from")
    if isinstance(read, dict):
        parts.append(t(lang, "read_from", ref=read.get("source_ref"), at=beijing(read.get("fetched_at"))))
    if line.get("officer"):
        parts.append(t(lang, "entered_by", officer=line.get("officer"), reason=line.get("reason")))
    return "；".join(parts) or "—"


def _line_row(line: dict, lang: str) -> str:
    cls = "adjustment" if line.get("code") == "adjustment" else ""
    return (
        f'<tr class="{cls}" data-line="{e(line.get("code"))}">'
        f'<td data-label="{e(t(lang, "indicator"))}">{e(line.get("name"))}<br><small class="muted">'
        f"{e(line.get('code'))}</small></td>"
        f'<td data-label="{e(t(lang, "source"))}">{e(named(SOURCES, line.get("source"), lang))}</td>'
        f'<td data-label="{e(t(lang, "figure"))}">{e(_figure(line))}</td>'
        f'<td data-label="{e(t(lang, "rule"))}">{e(line.get("rule"))}<br><small class="muted">'
        f"{e(line.get('basis'))}</small></td>"
        f'<td data-label="{e(t(lang, "points"))}"><b>{e(line.get("points"))}</b></td>'
        f'<td data-label="{e(t(lang, "provenance"))}" class="provenance">{e(provenance(line, lang))}</td></tr>'
    )


def _lines_head(lang: str) -> str:
    cells = "".join(
        f"<th>{e(t(lang, k))}</th>" for k in ("indicator", "source", "figure", "rule", "points", "provenance")
    )
    return f"<thead><tr>{cells}</tr></thead>"


def category_rows(result: dict, lang: str) -> str:
    """The seven categories, each with its points of its weight, its indicators' lines under it."""
    lines = {str(line.get("code")): line for line in result.get("lines") or [] if isinstance(line, dict)}
    out = []
    placed: set[str] = set()
    for category in result.get("categories") or []:
        codes = [c for c in category.get("indicators") or [] if c in lines]
        placed.update(codes)
        score = t(lang, "category_points", points=category.get("points"), weight=category.get("weight", "—"))
        out.append(
            f'<tr class="category" data-category="{e(category.get("code"))}"><th colspan="6" scope="rowgroup">'
            f"{e(category.get('name'))} · {e(score)}</th></tr>" + "".join(_line_row(lines[c], lang) for c in codes)
        )
    # Lines no category holds (a result from before the tree was in the answer): listed after.
    out += [_line_row(line, lang) for code, line in lines.items() if code not in placed and code != "adjustment"]
    return "".join(out)


def adjustments(result: dict, lang: str) -> str:
    rows = "".join(
        f'<tr><td data-label="{e(t(lang, "officer"))}">{e(line.get("officer"))}</td>'
        f'<td data-label="{e(t(lang, "points"))}">{e(line.get("points"))}</td>'
        f'<td data-label="{e(t(lang, "reason"))}">{e(line.get("reason"))}</td></tr>'
        for line in result.get("lines") or []
        if isinstance(line, dict) and line.get("code") == "adjustment"
    )
    head = "".join(f"<th>{e(t(lang, k))}</th>" for k in ("officer", "points", "reason"))
    return (
        f'<h2>{e(t(lang, "adjustments"))}</h2><table id="adjustments" class="cards"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows or _empty(3, t(lang, 'no_adjustments'))}</tbody></table>"
    )


def subject_page(
    kind: str,
    subject_id: str,
    result: dict | None,
    tasks: list[dict],
    params: dict,
    *,
    who: dict,
    csrf: str,
    lang: str,
    error: str | None = None,
    ok: str | None = None,
    refused: str | None = None,
    adjust: str = "",
) -> str:
    """One result with its provenance (`error`: why it could not be read). `ok` or `refused`: the
    answer to the adjustment just posted (flash.py); `adjust`: the adjustment form
    (adjustment_form.py), drawn by the route only for the roles that may enter one."""
    back = "/console/evaluations?" + urlencode(
        {k: params[k] for k in ("region", "period") if params.get(k)} | {"kind": kind}
    )
    body = f'<p><a href="{e(back)}">{e(t(lang, "back"))}</a></p>'
    body += f"<h1>{e(t(lang, kind))} · {e(subject_id)} · {e(params.get('period'))}</h1>"
    body += message(error) + message(refused) + message(None, ok)
    if result is not None:
        state = t(lang, "published_state") if result.get("state") == "published" else t(lang, "current")
        facts = {
            t(lang, "subject"): e(f"{named(SUBJECT_KINDS, kind, lang)} {subject_id}"),
            t(lang, "region"): e(result.get("region")),
            t(lang, "state"): e(state)
            + (f" {e(beijing(result.get('published_at')))}" if result.get("published_at") else ""),
            t(lang, "total"): f'<b id="total-score">{e(result.get("total"))}</b>',
            t(lang, "grade"): f'<span class="badge b-state" id="grade">{e(result.get("grade"))}</span>',
            t(lang, "policy"): e(result.get("policy")),
        }
        line = result.get("interview_below")
        if isinstance(line, dict) and "interview" in result:
            key = "interview_yes" if result.get("interview") else "interview_no"
            facts[t(lang, "interview")] = e(t(lang, key, value=line.get("value")))
        body += "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in facts.items()) + "</dl>"
        if kind == "purchaser":
            body += f'<h2>{e(t(lang, "tree"))}</h2><div class="scroll"><table id="lines" class="cards">'
            body += f"{_lines_head(lang)}<tbody>{category_rows(result, lang)}</tbody></table></div>"
        else:
            rows = "".join(_line_row(x, lang) for x in result.get("lines") or [] if x.get("code") != "adjustment")
            body += f'<h2>{e(t(lang, "lines"))}</h2><div class="scroll"><table id="lines" class="cards">'
            body += f"{_lines_head(lang)}<tbody>{rows}</tbody></table></div>"
        body += adjustments(result, lang)
    body += adjust + task_rows(tasks, lang)
    here = subject_href(kind, subject_id, params.get("region", ""), params.get("period", ""))
    return page(f"{t(lang, kind)} {subject_id}", body, who=who, csrf=csrf, lang=lang, here=here)


def _by_grade(population: list) -> str:
    counts = Counter(str(p.get("grade")) for p in population if isinstance(p, dict))
    return " · ".join(f"{g} {n}" for g, n in sorted(counts.items()))


def draws_page(
    draws: dict | None, params: dict, number: int, *, who: dict, csrf: str, lang: str, error: str | None = None
) -> str:
    """The stored inspection draws, newest first: who drew whom, with which seed, from what."""
    items = (draws or {}).get("items") or []
    rows = "".join(
        f'<tr data-draw="{e(d.get("id"))}">'
        f'<td data-label="{e(t(lang, "drawn_at"))}">{e(beijing(d.get("drawn_at")))}</td>'
        f'<td data-label="{e(t(lang, "kind"))}">{e(named(SUBJECT_KINDS, d.get("kind"), lang))}</td>'
        f'<td data-label="{e(t(lang, "region"))}">{e(d.get("region"))}</td>'
        f'<td data-label="{e(t(lang, "size"))}">{e(d.get("size"))}</td>'
        f'<td data-label="{e(t(lang, "drawn"))}" class="drawn">'
        + "、".join(f"{e(x.get('id'))}（{e(x.get('grade'))}）" for x in d.get("drawn") or [] if isinstance(x, dict))
        + f'</td><td data-label="{e(t(lang, "population"))}">{e(_by_grade(d.get("population") or []))}</td>'
        f'<td data-label="{e(t(lang, "drawn_by"))}">{e(d.get("drawn_by"))}</td>'
        f'<td data-label="{e(t(lang, "seed"))}"><details><summary>{e(d.get("seed"))}</summary><small>'
        f"{e(t(lang, 'rerun', path=_rerun(d)))}<br>{e(d.get('policy'))}</small></details></td></tr>"
        for d in items
        if isinstance(d, dict)
    )
    head = "".join(
        f"<th>{e(t(lang, k))}</th>"
        for k in ("drawn_at", "kind", "region", "size", "drawn", "population", "drawn_by", "seed")
    )
    body = (
        f"<h1>{e(t(lang, 'evaluations'))} · {e(t(lang, 'draws'))}</h1>{message(error)}{_tabs('draws', params, lang)}"
        f"{_filters('/console/evaluations/draws', params, lang, period=False, kinds=DRAWN_KINDS)}"
        f"{_pager(int((draws or {}).get('total') or 0), number, '/console/evaluations/draws', params, lang)}"
        f'<table id="draws" class="cards"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows or _empty(8, t(lang, 'no_draws'))}</tbody></table>"
    )
    here = "/console/evaluations/draws?" + urlencode({k: v for k, v in params.items() if v})
    return page(t(lang, "draws"), body, who=who, csrf=csrf, lang=lang, here=here)


def _rerun(draw: dict) -> str:
    query = urlencode({k: draw.get(k) for k in ("region", "kind", "size", "seed")})
    return f"/v1/inspections/sample?{query}"


# The API paths a review or interview task links (workflows/annual_evaluation): agency evaluations and
# purchaser assessments, each as its console page.
API_RESULT = re.compile(r"^/v1/(agencies|purchasers)/([^/?]+)/(?:evaluation|assessment)$")


def result_links(task: dict, lang: str) -> str:
    """On an `evaluation_review` or `supervision_interview` task: each result it is about, linked to
    its console page (the tree, the provenance, the adjustments and their reasons)."""
    if task.get("kind") not in ("evaluation_review", "supervision_interview"):
        return ""
    items = []
    for path in (task.get("links") or {}).values():
        parts = urlsplit(str(path))
        found = API_RESULT.match(parts.path)
        if not found:
            continue
        kind = "agency" if found.group(1) == "agencies" else "purchaser"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        href = subject_href(kind, found.group(2), query.get("region", ""), query.get("period", ""))
        items.append(f'<li><a class="evaluation-link" href="{e(href)}">{e(t(lang, kind))} {e(found.group(2))}</a></li>')
    if not items:
        return ""
    return f'<div class="box" id="results"><h3>{e(t(lang, "results"))}</h3><ul>{"".join(items)}</ul></div>'
