"""Console routes of the evaluations (issue 15): `/console/evaluations` (the published lists and
grades), `/console/evaluations/{agency|purchaser}/{id}` (one result with its provenance) and
`/console/evaluations/draws` (the stored inspection draws). Read from the evaluations service's API
through the gateway as the signed-in officer; finance departments only (`routes._officer`: any other
role is refused before anything is asked of the API). A result's page carries the officer's
adjustment form, posted to `/console/evaluations/{kind}/{id}/adjustment` and forwarded to the API
(adjustment_form.py) for the roles it takes, with the form's CSRF token; post/redirect/get back to
the result's page, which lists the adjustments."""

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.casework.console.adjustment_form import (
    ADJUST_ROLES,
    BACK,
    FIELDS,
    adjustment_body,
    adjustment_errors,
    adjustment_form,
    adjustment_path,
    entered_text,
)
from services.casework.console.adjustment_form import t as adjust_words
from services.casework.console.evaluation_pages import (
    EVALUATED,
    PAGE_SIZE,
    draws_page,
    list_page,
    subject_href,
    subject_page,
)
from services.casework.console.flash import FLASH_COOKIE, refusal_text
from services.casework.console.i18n import w
from services.casework.console.pages_base import message, page
from services.casework.console.routes import (
    _api,
    _csrf,
    _html,
    _lang,
    _officer,
    _page_number,
    _posted,
    _redirect_kept,
    _signed_out,
    _take_flash,
)
from services.common.identifiers import is_division_code
from services.common.lawdates import today

router = APIRouter(prefix="/console", include_in_schema=False)
TASK_LIMIT = 100


def _params(request: Request, who: dict, *, period: bool = True) -> dict[str, str]:
    """region (default: the officer's), year (default: last year), search text, kind."""
    q = request.query_params
    region = q.get("region", "").strip()
    params = {"region": region if is_division_code(region) else who["region"], "q": q.get("q", "").strip()[:64]}
    if period:
        year = q.get("period", "").strip()
        params["period"] = year if len(year) == 4 and year.isdigit() else str(today().year - 1)
    if q.get("kind"):
        params["kind"] = q["kind"]
    return params


async def _tasks(request: Request, token: str, searches: list[dict]) -> list[dict]:
    """Tasks of the given kinds whose id holds the given text (the casework search), merged."""
    answers = await asyncio.gather(
        *(_api(request, "GET", "/v1/tasks", token, params={**s, "limit": TASK_LIMIT}) for s in searches)
    )
    seen: dict[str, dict] = {}
    for status, body in answers:
        if status == 200 and isinstance(body, dict):
            for task in body.get("items") or []:
                seen.setdefault(task["id"], task)
    return sorted(seen.values(), key=lambda x: (x.get("opened_on") or "", x["id"]), reverse=True)


@router.get("/evaluations")
async def evaluations_list(request: Request) -> Response:
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    token, who = officer
    lang = _lang(request)
    params = _params(request, who)
    kind = params["kind"] if params.get("kind") in EVALUATED else "agency"
    params["kind"] = kind
    plural = "agencies" if kind == "agency" else "purchasers"
    scope = {"region": params["region"], "period": params["period"]}
    (status, listing), tasks = await asyncio.gather(
        _api(request, "GET", f"/v1/{plural}", token, params=scope),
        _tasks(
            request,
            token,
            [{"kind": "evaluation_review", "q": f"evaluation-review:{kind}:"}]
            + ([{"kind": "supervision_interview", "q": f":{params['period']}:"}] if kind == "purchaser" else []),
        ),
    )
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    tasks = [x for x in tasks if f":{params['period']}:" in x["id"]]
    error = None if status == 200 else refusal_text(listing, lang)
    html = list_page(
        kind, listing if status == 200 and isinstance(listing, dict) else None, tasks, params,
        _page_number(request), who=who, csrf=_csrf(request, token), lang=lang, error=error,
    )  # fmt: skip
    return _html(html, 200 if status == 200 else status)


@router.get("/evaluations/draws")
async def evaluation_draws(request: Request) -> Response:
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    token, who = officer
    lang = _lang(request)
    params = _params(request, who, period=False)
    number = _page_number(request)
    query = {"region": params["region"], "limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE}
    if params.get("kind") in ("agency", "supplier", "purchaser"):
        query["kind"] = params["kind"]
    if params["q"]:
        query["subject"] = params["q"]
    status, draws = await _api(request, "GET", "/v1/inspections/draws", token, params=query)
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    error = None if status == 200 else refusal_text(draws, lang)
    html = draws_page(
        draws if status == 200 and isinstance(draws, dict) else None, params, number,
        who=who, csrf=_csrf(request, token), lang=lang, error=error,
    )  # fmt: skip
    return _html(html, 200 if status == 200 else status)


@router.get("/evaluations/{kind}/{subject_id}")
async def evaluation_detail(kind: str, subject_id: str, request: Request) -> Response:
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    token, who = officer
    lang = _lang(request)
    params = _params(request, who)
    if kind not in EVALUATED:
        return _html(page("404", message(refusal_text({"title": kind}, lang)), who=who, lang=lang), 404)
    quoted = quote(subject_id, safe="")
    path = f"/v1/agencies/{quoted}/evaluation" if kind == "agency" else f"/v1/purchasers/{quoted}/assessment"
    scope = {"region": params["region"], "period": params["period"]}
    searches = [{"kind": "evaluation_review", "q": f"evaluation-review:{kind}:"}]
    if kind == "purchaser":
        searches.append({"kind": "supervision_interview", "q": subject_id})
    (status, result), tasks = await asyncio.gather(
        _api(request, "GET", path, token, params=scope), _tasks(request, token, searches)
    )
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    tasks = [x for x in tasks if f":{params['period']}:" in x["id"]]
    found = result if status == 200 and isinstance(result, dict) else None
    csrf = _csrf(request, token)
    flash = await _take_flash(request, who) or {}
    adjust = ""
    if who["role"] in ADJUST_ROLES:  # deny unless the role may enter one
        published = found is not None and found.get("state") == "published"
        adjust = adjustment_form(
            kind, subject_id, params, csrf=csrf, lang=lang, published=published,
            form=flash.get("form"), errors=flash.get("errors"),
        )  # fmt: skip
    html = subject_page(
        kind, subject_id, found, tasks, params, who=who, csrf=csrf, lang=lang,
        error=None if found else refusal_text(result, lang), ok=flash.get("ok"), refused=flash.get("error"),
        adjust=adjust,
    )  # fmt: skip
    response = _html(html, 200 if found else status)
    response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


@router.post("/evaluations/{kind}/{subject_id}/adjustment")
async def evaluation_adjustment(kind: str, subject_id: str, request: Request) -> Response:
    """The adjustment form's post: forwarded to the evaluations API as the signed-in officer; back to
    the result's page (post/redirect/get) with the API's answer — the entry made, or what the officer
    typed with the API's refusal on each field."""
    posted = await _posted(request, subject_href(kind, subject_id, "", ""))
    if isinstance(posted, Response):
        return posted
    token, who, form, lang = posted
    if who["role"] not in ADJUST_ROLES:
        refused = page("403", message(adjust_words(lang, "roles")), who=who, csrf=_csrf(request, token), lang=lang)
        return _html(refused, 403)
    if kind not in EVALUATED:
        return _html(page("404", message(refusal_text({"title": kind}, lang)), who=who, lang=lang), 404)
    typed = {k: form.get(k, "") for k in FIELDS}
    status, answer = await _api(request, "POST", adjustment_path(kind, subject_id), token, json=adjustment_body(form))
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    if status != 201 or not isinstance(answer, dict):
        # Back to the page the form was on, with what was typed and the API's refusal on its fields.
        back = subject_href(kind, subject_id, form.get(f"{BACK}region", ""), form.get(f"{BACK}period", ""))
        flash = {"error": refusal_text(answer, lang), "form": typed, "errors": adjustment_errors(answer, lang)}
        return await _redirect_kept(request, back + "#adjust", flash, who)
    # To the result the adjustment was entered on (the API took its region and year), which lists it.
    entered = subject_href(kind, subject_id, str(answer.get("region", "")), str(answer.get("period", "")))
    return await _redirect_kept(request, entered + "#adjustments", {"ok": entered_text(answer, lang)}, who)
