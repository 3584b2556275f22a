"""The officer's adjustment of an evaluation result, entered in the console: the form under a
result's page (evaluation_pages.subject_page), the JSON it posts to the evaluations API
(`POST /v1/purchasers/{id}/assessment/entries/adjustment`, `POST /v1/agencies/{id}/evaluation/
entries/adjustment`) and the API's refusal laid on the form's fields, in the console's language.

The console checks nothing the API checks: what the officer typed goes to the API, whose problem is
shown (post/redirect/get through flash.py, like the task page's decision form). Deny unless a role
allows: the form is drawn, and its post forwarded, only for the roles the endpoint takes."""

import math
from urllib.parse import quote

from services.casework.console.i18n import beijing, worded
from services.casework.console.pages_base import e
from services.common.auth import FINANCE_ROLES

# The roles of the API's endpoint (services/evaluations/api.py `Finance`), so the two cannot differ.
ADJUST_ROLES = frozenset(role.value for role in FINANCE_ROLES)
FIELDS = ("region", "period", "points", "reason")
BACK = "page_"  # the prefix of the hidden fields naming the page the form is on (never sent to the API)
WORDS = {
    "adjust": ("录入调整", "Enter an adjustment"),
    "note": (
        "调整分值计入总分（正数加分，负数减分），须写明理由；每次录入均留痕并计入，撤销须另录一笔相反的调整。",
        "The points are added to the total (negative points deduct), with a reason; every entry is kept and "
        "counts: to undo one, enter the opposite adjustment.",
    ),
    "published": (
        "该年度结果已公布：此后录入的调整予以留痕，但不改变已公布的结果。",
        "This year's result is published: an adjustment entered now is kept but does not change it.",
    ),
    "region": ("地区（行政区划代码）", "Region (division code)"),
    "period": ("年度", "Year"),
    "points": ("调整分值（负数为扣分）", "Points (negative deducts)"),
    "reason": ("理由（必填）", "Reason (required)"),
    "submit": ("提交调整", "Enter the adjustment"),
    "entered": (
        "已录入调整：{points} 分，理由：{reason}（{officer}，{at}）",
        "Adjustment entered: {points} points, reason: {reason} ({officer}, {at})",
    ),
    "outside": ("该地区不在您所在财政部门（本级及下级）的管辖范围内。", "outside your department's regions"),
    "roles": (
        "只有财政部门经办人和主管可以录入考核评价调整。",
        "Only finance officers and supervisors may enter an evaluation adjustment.",
    ),
}
# What each field takes (services/evaluations/api.py EntryRequest), said where the API refused it.
RULES = {
    "region": ("须为 6 位行政区划代码，如 410300。", "a 6-digit division code, e.g. 410300"),
    "period": ("须为 4 位数字的年度，如 2026。", "a 4-digit year, e.g. 2026"),
    "points": ("须为有限的数字：正数加分，负数减分。", "a finite number: positive adds, negative deducts"),
    "reason": ("须写明理由，1 至 2000 字。", "a reason of 1 to 2000 characters"),
}
# The endpoint's refusals about the region (api._region, api._not_covered). The console forwards only
# the roles the endpoint takes, so its 403 is the region's.
REGION_CODES = frozenset({"invalid_query", "forbidden", "no_policy"})


def t(lang: str, key: str, **values: object) -> str:
    return worded(WORDS, lang, key, **values)


def adjustment_path(kind: str, subject_id: str) -> str:
    quoted = quote(subject_id, safe="")
    if kind == "agency":
        return f"/v1/agencies/{quoted}/evaluation/entries/adjustment"
    return f"/v1/purchasers/{quoted}/assessment/entries/adjustment"


def adjustment_body(form: dict[str, str]) -> dict:
    """The JSON of the API's EntryRequest from the form. Points that read as a finite number go as a
    number; anything else goes as typed, for the API to refuse in its own words."""
    text = form.get("points", "").strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    points: float | str = number if math.isfinite(number) else text
    return {
        "region": form.get("region", "").strip(),
        "period": form.get("period", "").strip(),
        "points": points,
        "reason": form.get("reason", ""),
    }


def adjustment_errors(problem: object, lang: str) -> dict[str, str]:
    """Each field's error from the API's problem+json: the request's own errors (`errors[].loc`
    = body.<field>), and the refusals about the region."""
    if not isinstance(problem, dict):
        return {}
    out: dict[str, str] = {}
    for error in problem.get("errors") or []:
        loc = [str(p) for p in error.get("loc") or []] if isinstance(error, dict) else []
        if len(loc) == 2 and loc[0] == "body" and loc[1] in FIELDS:
            rule = worded(RULES, lang, loc[1])
            out.setdefault(loc[1], rule if lang == "zh" else f"{error.get('msg')} ({rule})")
    if problem.get("code") in REGION_CODES:
        out.setdefault("region", _region_error(problem, lang))
    return out


def _region_error(problem: dict, lang: str) -> str:
    detail = str(problem.get("detail") or problem.get("title") or "")
    if lang != "zh":
        return detail
    if problem.get("code") == "invalid_query":
        return RULES["region"][0]
    if problem.get("code") == "forbidden":
        return t(lang, "outside")
    return str(problem.get("hint") or detail)  # no_policy: the API's own words


def entered_text(entry: dict, lang: str) -> str:
    """The API's answer to an entry (the stored row), said back to the officer; an entry after the
    year's result was published is said to leave that result as it is."""
    said = t(
        lang,
        "entered",
        points=f"{entry.get('points'):+g}" if isinstance(entry.get("points"), int | float) else entry.get("points"),
        reason=entry.get("reason"),
        officer=entry.get("officer"),
        at=beijing(str(entry.get("entered_at") or "")),
    )
    return said if entry.get("changes_result", True) else f"{said} {t(lang, 'published')}"


def _field(name: str, label: str, values: dict, errors: dict, *, area: bool = False, mode: str = "") -> str:
    value, error = values.get(name, ""), errors.get(name)
    ident = f"adjust-{name}"
    attrs = (' class="invalid" aria-invalid="true"' + f' aria-describedby="{ident}-error"') if error else ""
    if area:
        control = f'<textarea id="{ident}" name="{name}" rows="3"{attrs}>{e(value)}</textarea>'
    else:
        inputmode = f' inputmode="{mode}"' if mode else ""
        control = f'<input type="text" id="{ident}" name="{name}" value="{e(value)}"{inputmode}{attrs}>'
    note = f'<div class="field-error" id="{ident}-error">{e(error)}</div>' if error else ""
    return f'<label for="{ident}">{e(label)}</label>{control}{note}'


def adjustment_form(
    kind: str,
    subject_id: str,
    params: dict,
    *,
    csrf: str,
    lang: str,
    published: bool = False,
    form: dict | None = None,
    errors: dict | None = None,
) -> str:
    """The form, with the page's region and year filled in, or what the officer typed when the API
    refused it (each refused field marked with its error). `novalidate`: the API's checks are the ones
    that count, and their answer is what the officer sees."""
    values = {"region": params.get("region", ""), "period": params.get("period", ""), **(form or {})}
    errors = errors or {}
    action = f"/console/evaluations/{quote(kind, safe='')}/{quote(subject_id, safe='')}/adjustment"
    warning = f'<div class="warning" id="adjust-published">{e(t(lang, "published"))}</div>' if published else ""
    return (
        f'<form method="post" action="{e(action)}" class="box" id="adjust" novalidate>'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        # The page the form is on, to come back to when the API refuses what was typed.
        + "".join(
            f'<input type="hidden" name="{BACK}{k}" value="{e(params.get(k, ""))}">' for k in ("region", "period")
        )
        + f"<h2>{e(t(lang, 'adjust'))}</h2>"
        f'<p><small class="muted">{e(t(lang, "note"))}</small></p>{warning}'
        + _field("region", t(lang, "region"), values, errors, mode="numeric")
        + _field("period", t(lang, "period"), values, errors, mode="numeric")
        + _field("points", t(lang, "points"), values, errors, mode="decimal")
        + _field("reason", t(lang, "reason"), values, errors, area=True)
        + f'<button id="adjust-submit">{e(t(lang, "submit"))}</button></form>'
    )
