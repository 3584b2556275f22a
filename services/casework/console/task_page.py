"""The console's task page: what the task is about (fetched through the API as the officer), its
history, evidence links, and the claim and decision forms."""

import json
from urllib.parse import quote

from services.casework.console.pages import KIND_NAMES, e, marks, message, page
from workflows.human_task.inputs import DECISIONS

DECISION_NAMES = {
    "determine": "认定严重失信 determine (serious)",
    "record_general": "记为一般失信 record a general behaviour instead",
    "dismiss": "不予认定 dismiss",
    "approve": "同意修复 approve",
    "reject": "不同意 reject",
    "correct": "更正 correct (no fields: withdraw the record)",
    "uphold": "维持 uphold",
    "retry": "重新推送 retry",
    "acknowledge": "确认关闭 acknowledge",
}


def _dl(items: dict) -> str:
    return (
        "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items.items() if v not in (None, "")) + "</dl>"
    )


def _party(p: dict | None) -> str:
    p = p or {}
    return " ".join(str(p.get(k) or "") for k in ("type", "id", "name")).strip()


def _about(task: dict) -> str:
    request = (task.get("context") or {}).get("request") or {}
    behaviour = request.get("behaviour") or {}
    facts = {
        "Subject": _party(task["subject"]),
        "Behaviour": f"{request.get('behaviour_code', '')} {behaviour.get('text', '')}".strip(),
        "Legal basis": behaviour.get("legal_basis"),
        "References (参考, not the basis)": "、".join(behaviour.get("references") or []) or None,
        "Reporter": _party(request.get("reporter")),
        "Project": " ".join(str(v) for v in (request.get("project") or {}).values() if v),
        "Occurred on": request.get("occurred_on"),
        "Evidence items": request.get("evidence_count"),
        "Record": task.get("record_id"),
    }
    return _dl(facts)


def _fetched(name: str, path: str, fetched: dict) -> str:
    status, body = fetched.get("status"), fetched.get("body")
    if status != 200 or not isinstance(body, dict):
        return f"<h3>{e(name)}</h3><p>{e(path)}: not available ({e(status)})</p>"
    evidence = body.get("evidence") or (body.get("report") or {}).get("evidence") or []
    links = "".join(
        f'<li><a href="{e(item.get("uri"))}" rel="noreferrer" target="_blank">{e(item.get("kind"))}</a>'
        f" sha256 {e(item.get('sha256'))}</li>"
        for item in evidence
        if isinstance(item, dict) and str(item.get("uri", "")).startswith(("https://", "http://"))
    )
    history = body.get("history") or []
    rows = "".join(
        f"<tr><td>{e(h.get('version'))}</td><td>{e(h.get('change'))}</td><td>{e(h.get('at') or h.get('recorded_at'))}"
        f"</td><td>{e(h.get('actor'))}</td></tr>"
        for h in history
        if isinstance(h, dict)
    )
    summary = {k: v for k, v in body.items() if isinstance(v, str | int | float) and k != "description"}
    out = f"<h3>{e(name)} <small>{e(path)}</small></h3>{_dl(summary)}"
    if body.get("description"):
        out += f"<p><b>Description</b>: {e(body['description'])}</p>"
    out += f'<h4>Evidence (finance only)</h4><ul id="evidence">{links or "<li>none shown</li>"}</ul>'
    if rows:
        out += f"<h4>Record history</h4><table><tr><th>v</th><th>change</th><th>at</th><th>by</th></tr>{rows}</table>"
    return out


def _audit(task: dict) -> str:
    rows = "".join(
        f"<tr><td>{e(a['at'])}</td><td>{e(a['action'])}</td><td>{e(a['actor'])}</td><td>{e(a['role'])}</td>"
        f"<td><pre>{e(json.dumps(a['details'], ensure_ascii=False))}</pre></td></tr>"
        for a in task.get("audit", [])
    )
    return (
        '<h2>History</h2><table id="audit"><tr><th>When</th><th>Action</th><th>Who</th><th>Role</th>'
        f"<th>Details</th></tr>{rows}</table>"
    )


def _determination_fields(prefix: str) -> str:
    return (
        f"<fieldset><legend>Determination (处理决定)</legend>"
        f'<label>Decision no. <input type="text" name="{prefix}decision_no" id="{prefix}decision_no"></label>'
        f'<label>Decided on <input type="date" name="{prefix}decided_on" id="{prefix}decided_on"></label>'
        f'<label>Liability ends on <input type="date" name="{prefix}liability_ends_on" id="{prefix}liability_ends_on">'
        f"</label>"
        f'<label>Penalty <input type="text" name="{prefix}penalty" id="{prefix}penalty"></label></fieldset>'
    )


def _decide_form(task: dict, csrf: str) -> str:
    choices = "".join(
        f'<label><input type="radio" name="decision" value="{e(d)}" id="decision-{e(d)}"'
        f"{' checked' if i == 0 else ''}> {e(DECISION_NAMES.get(d, d))}</label>"
        for i, d in enumerate(DECISIONS.get(task["kind"], ()))
    )
    fields = ""
    if task["kind"] in ("determination", "appeal_review"):
        fields += '<label>Behaviour code (record_general / correct) <input type="text" name="behaviour_code"></label>'
        fields += _determination_fields("")
    if task["kind"] == "repair_review":
        fields += '<label>Opinion (意见) <textarea name="opinion" rows="3"></textarea></label>'
    return (
        f'<form method="post" action="/console/tasks/{quote(task["id"])}/complete" class="box" id="decide">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}"><h3>Decide</h3>{choices}{fields}'
        '<label for="reason">Reason (理由, required)</label><textarea id="reason" name="reason" rows="3" required>'
        '</textarea><button id="complete">Record the decision</button></form>'
    )


def _actions(task: dict, who: dict, csrf: str) -> str:
    def button(action: str, label: str) -> str:
        return (
            f'<form method="post" action="/console/tasks/{quote(task["id"])}/{action}" style="display:inline">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button id="{action}">{e(label)}</button></form>'
        )

    if task["state"] == "open":
        return f'<div class="box">{button("claim", "Claim (认领)")}</div>'
    if task["state"] != "claimed":
        decided = json.dumps(task.get("decision"), ensure_ascii=False, indent=1)
        return f'<div class="box">Decision: <pre id="decision">{e(decided)}</pre></div>'
    if task["assignee"] == who["sub"]:
        return f'<div class="box">Claimed by you. {button("unclaim", "Unclaim")}</div>{_decide_form(task, csrf)}'
    release = button("unclaim", "Release (supervisor)") if who["role"] == "supervisor" else ""
    return f'<div class="box">Claimed by {e(task["assignee"])}. {release}</div>'


def task_page(
    task: dict, related: dict, *, who: dict, csrf: str, error: str | None = None, ok: str | None = None
) -> str:
    head = {
        "Kind": KIND_NAMES.get(task["kind"], task["kind"]),
        "Region": task["region"],
        "Opened on": task["opened_on"],
        # 暂定: counted on the provisional calendar (a year not announced yet); it moves later, never earlier.
        "Due (last day)": f"{task['due_on']} (暂定 provisional)" if task.get("provisional") else task["due_on"],
        "Assignee": task["assignee"],
        "Escalated to": task["escalated_to_region"],
    }
    fetched = "".join(_fetched(name, path, related.get(name, {})) for name, path in task["links"].items())
    body = (
        f'<p><a href="/console">← queue</a></p><h1>{e(task["title"])}</h1>{message(error, ok)}'
        f'<p id="marks">{marks(task)}</p>{_dl(head)}{_actions(task, who, csrf)}'
        f'<h2>What it is about</h2><div class="box">{_about(task)}</div>'
        f'<div class="box" id="related">{fetched or "<p>No linked report or record.</p>"}</div>{_audit(task)}'
    )
    return page(task["title"], body, who=who, csrf=csrf)
