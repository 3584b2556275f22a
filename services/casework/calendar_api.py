"""`GET /v1/calendar/{year}` (anyone) and `PUT /v1/calendar/{year}` (an administrator), CONTRACT
v1.1. The shapes are documented in the README ("Working days")."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from sqlalchemy.exc import IntegrityError

from services.casework import calendar
from services.casework.calendar import ArrangementIn
from services.casework.schemas import CalendarYear
from services.common.arrangements import Arrangement, statutory_days
from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.workdays import RECKONER, CalendarUnavailable

router = APIRouter(tags=["calendar"])
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
Rt = RuntimeDep


def view(arrangement: Arrangement, row: dict | None = None) -> dict:
    body = {
        **arrangement.as_dict(),
        "provisional": arrangement.provisional,
        "statutory_days": [{"date": d.isoformat(), "festival": f} for d, f in statutory_days(arrangement.year).items()],
    }
    if row is not None:
        body |= {"installed_by": row["installed_by"], "installed_at": row["installed_at"].isoformat()}
    return body


@router.get("/v1/calendar/{year}", **typed(CalendarYear))
async def get_calendar(year: int, rt: Rt) -> dict:
    """The year's days off and 调休 working days, `official` (installed, a data file or
    chinese-calendar) or `provisional` (computed from the law), and where they come from."""
    calendar.check_year(year)
    async with rt.engine.connect() as conn:
        # The database is the truth for installs (another replica may have taken the PUT and this
        # one not heard the announcement yet).
        row = await calendar.newest(conn, year)
    if row is not None:
        return view(calendar.arrangement_of(row), row)
    try:
        return view(RECKONER.arrangement(year))
    except CalendarUnavailable as exc:
        raise Problem(404, "not_found", "No arrangement", str(exc)) from exc


@router.put("/v1/calendar/{year}", **typed(CalendarYear))
async def put_calendar(year: int, p: Administrator, rt: Rt, body: Annotated[ArrangementIn, Body()]) -> dict:
    """Install the State Council's arrangement of `year` (a later install supersedes, never edits)."""
    calendar.check_year(year)
    now = datetime.now(UTC)
    errors = calendar.problems_of(year, body, local_date(now))
    if errors:
        raise Problem(
            422,
            "invalid_arrangement",
            "Invalid holiday arrangement",
            f"{len(errors)} problem(s): " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
            errors=errors,
        )
    try:
        async with rt.engine.begin() as conn:
            row = await calendar.install(conn, year, body, by=p.sub, now=now)
    except IntegrityError as exc:
        raise Problem(
            409, "conflict", "Installed concurrently", f"another install of {year} came first: retry"
        ) from exc
    rt.relay.wake()
    arrangement = calendar.arrangement_of(row)
    RECKONER.install(arrangement)  # this process at once; the others when they hear credit.calendar
    return view(arrangement, row)
