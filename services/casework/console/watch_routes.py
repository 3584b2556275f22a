"""Console routes of the watch's pages (issue 13): `/console/warnings` and
`/console/projects/{region}/{code}`, read from the API as the signed-in officer."""

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.casework.console.routes import _api, _csrf, _html, _problem_text, _session, _signed_out
from services.casework.console.watch_pages import RANKED, timeline_page, warnings_page

router = APIRouter(prefix="/console", include_in_schema=False)
FILTERS = ("level", "stage", "region", "responsible")


@router.get("/warnings")
async def warnings_list(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    params = {k: v for k in FILTERS if (v := request.query_params.get(k))}
    (status, warnings), *ranked = await asyncio.gather(
        _api(request, "GET", "/v1/warnings", token, params=params),
        *(_api(request, "GET", "/v1/rankings", token, params={"kind": kind}) for kind in RANKED),
    )
    rankings = {kind: body for kind, (_, body) in zip(RANKED, ranked, strict=True) if isinstance(body, dict)}
    if status == 401:
        return _signed_out(request, "Your token is no longer accepted: sign in again.")
    error = None if status == 200 else _problem_text(warnings)
    return _html(
        warnings_page(
            warnings if isinstance(warnings, dict) and status == 200 else {"items": []},
            rankings,
            who=who,
            csrf=_csrf(request, token),
            error=error,
        )
    )


@router.get("/projects/{region}/{code}")
async def project_timeline(region: str, code: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    status, body = await _api(request, "GET", f"/v1/projects/{quote(region)}/{quote(code)}", token)
    if status == 401:
        return _signed_out(request, "Your token is no longer accepted: sign in again.")
    project = body if status == 200 and isinstance(body, dict) else None
    page_html = timeline_page(
        project, who=who, csrf=_csrf(request, token), error=None if project else _problem_text(body)
    )
    return _html(page_html, 200 if project else status)
