"""The console's task page: what the task is about in the report's own words, the plan of reminders
and escalations written out, Beijing time everywhere, evidence (or a button to ask for it), the
subject's timeline, the claim and decision forms (which keep what was typed and show each field's
error), and after a decision, links to what it made."""

import json
from urllib.parse import quote

from services.casework.console.evaluation_pages import result_links
from services.casework.console.evidence import evidence_section
from services.casework.console.i18n import DECISIONS as DECISION_WORDS
from services.casework.console.i18n import FIELDS, KINDS, SUBJECT_TYPES, beijing, named, w
from services.casework.console.pages import days_left, marks, provisional_mark
from services.casework.console.pages_base import e, message, page
from workflows.human_task.inputs import DECISIONS

SUBJECT_PAGES = frozenset({"supplier", "agency", "expert", "purchaser"})  # a region has no archive page
DETERMINATION_FIELDS = ("decision_no", "decided_on", "liability_ends_on", "penalty", "legal_basis")


def _dl(items: dict) -> str:
    return "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items.items() if v not in (None, "")) + "</dl>"


def _party(p: dict | None, lang: str = "zh") -> str:
    p = p or {}
    kind = named(SUBJECT_TYPES, p.get("type"), lang) if p.get("type") else ""
    return " ".join(str(v or "") for v in (kind, p.get("id"), p.get("name"))).strip()


def subject_link(subject: dict | None, lang: str = "zh") -> str:
    s = subject or {}
    if s.get("type") not in SUBJECT_PAGES or not s.get("id"):
        return e(_party(s, lang))
    href = f"/console/subjects/{quote(str(s['type']), safe='')}/{quote(str(s['id']), safe='')}"
    return f'<a href="{href}" class="subject">{e(_party(s, lang))}</a>'


def plan_text(task: dict, lang: str) -> str:
    """ "提醒 12-15 09:00 · 逾期升级 12-17 09:00 → 410300 · 2级 12-22 09:00 → 410000", each alarm
    marked when it went off."""
    parts = []
    for alarm in sorted(task.get("alarms") or [], key=lambda a: (a.get("at") or "", a.get("level", 0))):
        level = int(alarm.get("level") or 0)
        at = beijing(alarm.get("at"), year=False)
        if alarm.get("kind") == "reminder":
            text, fired = f"{w(lang, 'remind')} {at}", bool(task.get("reminded"))
        else:
            label = w(lang, "escalate1") if level == 1 else w(lang, "escalate_n", n=level)
            text, fired = f"{label} {at} → {alarm.get('to_region')}", int(task.get("escalation_level") or 0) >= level
        if alarm.get("provisional"):
            text += f" ({w(lang, 'provisional')})"
        parts.append(f'<span class="{"fired" if fired else "planned"}">{e(text)}{" ✓" if fired else ""}</span>')
    return " · ".join(parts) or e(w(lang, "plan_none"))


def _facts(task: dict, lang: str) -> str:
    due = f"{e(task['due_on'])}{provisional_mark(task, lang)}"
    return _dl(
        {
            w(lang, "kind"): e(named(KINDS, task["kind"], lang)),
            w(lang, "subject"): subject_link(task.get("subject"), lang),
            w(lang, "region"): e(task["region"]),
            w(lang, "opened"): e(task["opened_on"]),
            w(lang, "due"): due,
            w(lang, "days_left"): days_left(task, task.get("as_of", ""), lang),
            w(lang, "assignee"): e(task["assignee"]),
            w(lang, "escalated_to"): e(task["escalated_to_region"]),
            w(lang, "created"): e(beijing(task.get("created_at"))),
        }
    )


def _about(task: dict, lang: str) -> str:
    request = (task.get("context") or {}).get("request") or {}
    behaviour = request.get("behaviour") or {}
    return _dl(
        {
            w(lang, "behaviour"): e(f"{request.get('behaviour_code', '')} {behaviour.get('text', '')}".strip()),
            w(lang, "legal_basis"): e(behaviour.get("legal_basis")),
            w(lang, "references"): e("、".join(behaviour.get("references") or [])),
            w(lang, "reporter"): e(_party(request.get("reporter"), lang)),
            w(lang, "project"): e(" ".join(str(v) for v in (request.get("project") or {}).values() if v)),
            w(lang, "occurred"): e(request.get("occurred_on")),
            w(lang, "record"): _record_link(task.get("record_id")),
        }
    )


def _record_link(record_id: object) -> str:
    if not record_id:
        return ""
    return f'<a class="record-link" href="/console/records/{quote(str(record_id), safe="")}">{e(record_id)}</a>'


def _words(body: dict) -> str | None:
    """The report's (or record's) own description, wherever the API put it."""
    report = body.get("report")
    words = body.get("description") or (report.get("description") if isinstance(report, dict) else None)
    return str(words) if words else None


def _evidence(body: dict, record_id: str | None, csrf: str, lang: str) -> str:
    evidence = body.get("evidence") or (body.get("report") or {}).get("evidence") or []
    links = "".join(
        f'<li><a href="{e(item.get("uri"))}" rel="noreferrer" target="_blank">{e(item.get("kind"))}</a>'
        f' <small class="muted">sha256 {e(item.get("sha256"))}</small></li>'
        for item in evidence
        if isinstance(item, dict) and str(item.get("uri", "")).startswith(("https://", "http://"))
    )
    none = f"<li>{e(w(lang, 'evidence_none'))}</li>"
    out = f'<h4>{e(w(lang, "evidence"))}</h4><ul id="evidence">{links or none}</ul>'
    if body.get("evidence_access") == "approval_required" and record_id:
        out += (
            f'<form method="post" action="/console/records/{quote(record_id, safe="")}/access-request" '
            f'class="box" id="access-request"><p>{e(w(lang, "evidence_locked"))}</p>'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">'
            f"<label>{e(w(lang, 'purpose'))}"
            '<input type="text" name="purpose" required minlength="4" maxlength="500"></label>'
            f'<button id="request-access">{e(w(lang, "request_access"))}</button></form>'
        )
    return out


def related_box(name: str, path: str, fetched: dict, csrf: str, lang: str) -> str:
    status, body = fetched.get("status"), fetched.get("body")
    if status != 200 or not isinstance(body, dict):
        return f"<h3>{e(name)}</h3><p>{e(path)}: not available ({e(status)})</p>"
    summary = {
        k: e(beijing(str(v)) if k.endswith("_at") else v)
        for k, v in body.items()
        if isinstance(v, str | int | float) and k != "description"
    }
    if body.get("record_id"):
        summary["record_id"] = _record_link(body["record_id"])
    behaviour = body.get("behaviour")
    if isinstance(behaviour, dict):  # a record: its behaviour and basis, as recorded
        summary["behaviour"] = e(f"{behaviour.get('code', '')} {behaviour.get('text') or ''}".strip())
        summary["legal_basis"] = e(behaviour.get("legal_basis"))
    summary = {named(FIELDS, k, lang): v for k, v in summary.items()}
    out = f'<h3>{e(named(FIELDS, name, lang))} <small class="muted">{e(path)}</small></h3>'
    if words := _words(body):
        out += f'<h4>{e(w(lang, "report_words"))}</h4><blockquote id="report-words">{e(words)}</blockquote>'
    out += _dl(summary)
    record_id = (body.get("record_id") or body.get("id")) if path.startswith("/v1/records/") else None
    out += _evidence(body, record_id, csrf, lang)
    history = [h for h in body.get("history") or [] if isinstance(h, dict)]
    if history:
        rows = "".join(
            f"<tr><td>{e(h.get('version'))}</td><td>{e(h.get('change'))}</td><td>{e(beijing(h.get('at')))}</td>"
            f"<td>{e(h.get('actor'))}</td></tr>"
            for h in history
        )
        out += (
            f'<h4>{e(w(lang, "record_history"))}</h4><div class="scroll"><table><tr><th>v</th><th>change</th>'
            f"<th>{e(w(lang, 'when'))}</th><th>{e(w(lang, 'who'))}</th></tr>{rows}</table></div>"
        )
    return out


def timeline(archive: dict | None, lang: str) -> str:
    """The subject's integrity archive (GET /v1/archive) as one list, oldest first."""
    if not isinstance(archive, dict):
        return ""
    events = []
    for r in archive.get("records") or []:
        for entry in r.get("entries") or []:
            events.append(
                (
                    entry.get("at") or "",
                    f"{_record_link(r.get('id'))} {e(entry.get('behaviour_code') or r.get('behaviour_code'))} · "
                    f'{e(entry.get("change"))} → {e(entry.get("status"))} <small class="muted">{e(entry.get("actor"))}'
                    "</small>",
                )
            )
    for d in archive.get("intended_determinations") or []:
        events.append(
            (
                d.get("decided_at") or "",
                f"{e(w(lang, 'intended'))} {e(d.get('behaviour_code'))} · {e(d.get('reason'))}"
                f' <small class="muted">{e(d.get("request_id"))}</small>',
            )
        )
    items = "".join(f"<li><b>{e(beijing(at))}</b> {text}</li>" for at, text in sorted(events, key=lambda x: x[0]))
    none = f"<li>{e(w(lang, 'timeline_none'))}</li>"
    return f'<h2>{e(w(lang, "timeline"))}</h2><ol class="timeline" id="timeline">{items or none}</ol>'


def _audit(task: dict, lang: str) -> str:
    rows = "".join(
        f'<tr><td data-label="{e(w(lang, "when"))}">{e(beijing(a["at"]))}</td>'
        f'<td data-label="{e(w(lang, "action"))}">{e(a["action"])}</td>'
        f'<td data-label="{e(w(lang, "who"))}">{e(a["actor"])}</td>'
        f'<td data-label="{e(w(lang, "role"))}">{e(a["role"])}</td>'
        f'<td data-label="{e(w(lang, "details"))}"><details><summary>…</summary>'
        f"<pre>{e(json.dumps(a['details'], ensure_ascii=False, indent=1))}</pre></details></td></tr>"
        for a in task.get("audit", [])
    )
    head = "".join(f"<th>{e(w(lang, k))}</th>" for k in ("when", "action", "who", "role", "details"))
    return (
        f'<h2>{e(w(lang, "history"))}</h2><table id="audit" class="cards"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _field(name: str, label: str, form: dict, errors: dict, *, kind: str = "text", area: bool = False) -> str:
    value, error = form.get(name, ""), errors.get(name)
    invalid = ' class="invalid" aria-invalid="true"' if error else ""
    described = f' aria-describedby="{name}-error"' if error else ""
    control = (
        f'<textarea id="{name}" name="{name}" rows="3"{invalid}{described}>{e(value)}</textarea>'
        if area
        else f'<input type="{kind}" id="{name}" name="{name}" value="{e(value)}"{invalid}{described}>'
    )
    note = f'<div class="field-error" id="{name}-error">{e(error)}</div>' if error else ""
    return f'<label for="{name}">{e(label)}</label>{control}{note}'


def _decide_form(task: dict, csrf: str, lang: str, form: dict, errors: dict) -> str:
    allowed = DECISIONS.get(task["kind"], ())
    chosen = form.get("decision") or (allowed[0] if allowed else "")
    choices = "".join(
        f'<label><input type="radio" name="decision" value="{e(d)}" id="decision-{e(d)}"'
        f"{' checked' if d == chosen else ''}> {e(named(DECISION_WORDS, d, lang))}</label>"
        for d in allowed
    )
    if errors.get("decision"):
        choices += f'<div class="field-error" id="decision-error">{e(errors["decision"])}</div>'
    fields = ""
    if task["kind"] in ("determination", "appeal_review"):
        fields += _field("behaviour_code", w(lang, "behaviour_code"), form, errors)
        fields += (
            f"<fieldset><legend>{e(w(lang, 'determination'))}</legend>"
            + _field("decision_no", w(lang, "decision_no"), form, errors)
            + _field("decided_on", w(lang, "decided_on"), form, errors, kind="date")
            + _field("liability_ends_on", w(lang, "liability_ends_on"), form, errors, kind="date")
            + _field("penalty", w(lang, "penalty"), form, errors)
            + _field("legal_basis", w(lang, "legal_basis_field"), form, errors)
            + "</fieldset>"
        )
    if task["kind"] == "repair_review":
        fields += _field("opinion", w(lang, "opinion"), form, errors, area=True)
    if task["kind"] == "collusion_triage":
        group = " ".join(str(s.get("id")) for s in (task.get("context") or {}).get("suppliers") or [])
        fields += _field("suppliers", w(lang, "suppliers"), {"suppliers": group, **form}, errors)
    return (
        f'<form method="post" action="/console/tasks/{quote(task["id"], safe="")}/complete" class="box" id="decide"'
        f' novalidate><input type="hidden" name="csrf" value="{e(csrf)}"><h3>{e(w(lang, "decide"))}</h3>'
        f"<fieldset><legend>{e(w(lang, 'decision'))}</legend>{choices}</fieldset>{fields}"
        f"{_field('reason', w(lang, 'reason'), form, errors, area=True)}"
        f'<button id="complete">{e(w(lang, "submit"))}</button></form>'
    )


def _button(task: dict, action: str, label: str, csrf: str) -> str:
    return (
        f'<form method="post" action="/console/tasks/{quote(task["id"], safe="")}/{action}" style="display:inline">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}"><button id="{action}">{e(label)}</button></form>'
    )


def made_links(task: dict, related: dict, lang: str) -> str:
    """After a decision: the record it made or changed, the listing task, the public answer."""
    decision = task.get("decision") or {}
    links = []
    record_ids = {task.get("record_id")} | {
        (f.get("body") or {}).get("record_id") for f in related.values() if isinstance(f.get("body"), dict)
    }
    for record_id in sorted(r for r in record_ids if r):
        links.append(f"{e(w(lang, 'record'))}: {_record_link(record_id)}")
    if task["kind"] == "determination" and decision.get("decision") == "determine":
        listing = f"{task['id']}:listing"
        links.append(
            f'{e(w(lang, "listing_task"))}: <a id="listing-link" href="/console/tasks/{quote(listing, safe="")}">'
            f"{e(listing)}</a>"
        )
    for f in related.values():
        body = f.get("body") if isinstance(f.get("body"), dict) else {}
        if body.get("state") and body.get("request_id"):
            links.append(f"{e(w(lang, 'determination_state'))}: {e(body['state'])}")
    subject = task.get("subject") or {}
    if subject.get("type") in SUBJECT_PAGES and subject.get("id"):
        public = f"/v1/credit/{quote(str(subject['type']), safe='')}/{quote(str(subject['id']), safe='')}"
        links.append(f'{e(w(lang, "public_answer"))}: <a id="public-link" href="{public}">{e(public)}</a>')
        links.append(f"{e(w(lang, 'subject_page'))}: {subject_link(subject, lang)}")
    if not any("record-link" in link for link in links) and decision.get("decision") not in (
        "dismiss", "withdraw", "reject", "uphold", "retry", "acknowledge", "determine"
    ):  # fmt: skip
        links.append(e(w(lang, "made_pending")))
    items = "".join(f"<li>{link}</li>" for link in links)
    return f'<div class="box" id="made"><h3>{e(w(lang, "made"))}</h3><ul>{items}</ul></div>'


def _actions(task: dict, related: dict, who: dict, csrf: str, lang: str, form: dict, errors: dict) -> str:
    if task["state"] == "open":
        return f'<div class="box">{_button(task, "claim", w(lang, "claim"), csrf)}</div>'
    if task["state"] != "claimed":
        decision = task.get("decision") or {}
        said = named(DECISION_WORDS, decision.get("decision"), lang) if decision else task.get("cancelled_reason")
        reason = f"<blockquote>{e(decision.get('reason'))}</blockquote>" if decision.get("reason") else ""
        return (
            f'<div class="box" id="decision"><b>{e(w(lang, "decision"))}</b>: {e(said)}{reason}</div>'
            f"{made_links(task, related, lang) if decision else ''}"
        )
    if task["assignee"] == who["sub"]:
        return (
            f'<div class="box">{e(w(lang, "claimed_by_you"))} {_button(task, "unclaim", w(lang, "unclaim"), csrf)}'
            f"</div>{_decide_form(task, csrf, lang, form, errors)}"
        )
    release = _button(task, "unclaim", w(lang, "release"), csrf) if who["role"] == "supervisor" else ""
    return f'<div class="box">{e(w(lang, "claimed_by", who=task["assignee"]))} {release}</div>'


def task_page(
    task: dict,
    related: dict,
    *,
    who: dict,
    csrf: str,
    error: str | None = None,
    ok: str | None = None,
    lang: str = "zh",
    form: dict | None = None,
    field_errors: dict | None = None,
    archive: dict | None = None,
) -> str:
    fetched = "".join(
        related_box(name, path, related.get(name, {}), csrf, lang) for name, path in task["links"].items()
    )
    plan = f'<p id="plan"><b>{e(w(lang, "plan"))}</b>：{plan_text(task, lang)}</p>'
    body = (
        f'<p><a href="/console">{e(w(lang, "back"))}</a></p><h1>{e(task["title"])}</h1>{message(error, ok)}'
        f'<p id="marks">{marks(task, lang)}</p>{_facts(task, lang)}{plan}'
        f"{_actions(task, related, who, csrf, lang, form or {}, field_errors or {})}"
        f'<h2>{e(w(lang, "about"))}</h2><div class="box">{_about(task, lang)}</div>{evidence_section(task, lang)}'
        f"{result_links(task, lang)}"
        f'<div class="box" id="related">{fetched or "<p>—</p>"}</div>{timeline(archive, lang)}{_audit(task, lang)}'
    )
    return page(task["title"], body, who=who, csrf=csrf, lang=lang, here=f"/console/tasks/{quote(task['id'], safe='')}")
