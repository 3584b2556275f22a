"""Console route of the signals (issue 14): `/console/signals`, the tasks a signal opened — collusion
triage, and the determinations the signals service asked for — searchable and paged, each row with
its evidence summed up (the task page lays it out side by side). Finance departments only
(`routes._officer`); the tasks are read from casework's API as the signed-in officer."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.casework.console.flash import refusal_text
from services.casework.console.i18n import w
from services.casework.console.routes import _api, _csrf, _html, _lang, _officer, _page_number, _signed_out
from services.casework.console.signal_pages import PAGE_SIZE, SIGNAL_TABS, signals_page

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/signals")
async def signal_tasks(request: Request) -> Response:
    """Tasks opened by signals (collusion triage; determinations the signals service asked for), each
    row with its evidence summed up; the task page lays the evidence side by side."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    token, who = officer
    lang = _lang(request)
    tab = request.query_params.get("tab", "collusion")
    tab = tab if tab in SIGNAL_TABS else "collusion"
    state = request.query_params.get("state", "active")
    search = request.query_params.get("q", "").strip()[:100]
    number = _page_number(request)
    query = {**SIGNAL_TABS[tab], "limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE}
    if state in ("active", "open", "claimed", "completed", "cancelled"):
        query["state"] = state
    if search:
        query["q"] = search
    status, listing = await _api(request, "GET", "/v1/tasks", token, params=query)
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    items = (listing.get("items") or []) if status == 200 and isinstance(listing, dict) else []
    # The list view has no context: each shown task is read in full for its evidence.
    full = await asyncio.gather(*(_api(request, "GET", f"/v1/tasks/{x['id']}", token) for x in items))
    tasks = [body if s == 200 and isinstance(body, dict) else x for x, (s, body) in zip(items, full, strict=True)]
    params = {"tab": tab, "state": state, "q": search}
    html = signals_page(
        tasks, int(listing.get("total") or 0) if isinstance(listing, dict) else 0, params, number,
        who=who, csrf=_csrf(request, token), lang=lang,
        error=None if status == 200 else refusal_text(listing, lang),
    )  # fmt: skip
    return _html(html, 200 if status == 200 else status)
