"""The official holiday arrangement of a year, installed at run time (CONTRACT v1.1
`PUT /v1/calendar/{year}`): validated against the law, stored append-only and versioned with who
installed it and when, and announced on `credit.calendar` (`calendar.installed.v1`) in the same
transaction (outbox), so every process that counts working days installs it without a restart."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.casework.events import SOURCE
from services.casework.models import CALENDAR_T, MESSAGING
from services.common.arrangements import Arrangement, statutory_days
from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent, write_outbox
from services.common.problems import Problem
from services.common.topics import CALENDAR, CALENDAR_INSTALLED

# The law's statutory days are known from 1999-10-01 (services/common/arrangements.LAWS); a year
# further out than this is a typo, not an arrangement the State Council publishes.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=100, description="e.g. 国办发明电〔2025〕7号")
    date: date


class ArrangementIn(BaseModel):
    """The State Council's notice and its lists: every day off (weekend days inside a holiday
    block may be listed or not) and every Saturday or Sunday made a working day (调休)."""

    model_config = ConfigDict(extra="forbid")
    notice: Notice
    holidays: list[date] = Field(min_length=1)
    workdays: list[date] = Field(default_factory=list)


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Problem(
            422,
            "invalid_request",
            "Invalid request",
            f"year must be {FIRST_YEAR}..{LAST_YEAR}",
            errors=[{"loc": ["path", "year"], "msg": f"{year} is not a year of a holiday arrangement"}],
        )


def problems_of(year: int, body: ArrangementIn, today: date) -> list[dict]:
    """Every reason the arrangement cannot be the year's, each naming its field."""
    errors: list[dict] = []

    def err(loc: list, msg: str) -> None:
        errors.append({"loc": ["body", *loc], "msg": msg})

    if body.notice.date > today:
        err(["notice", "date"], f"{body.notice.date} is in the future")
    elif body.notice.date.year not in (year - 1, year):
        err(["notice", "date"], f"a notice of {body.notice.date.year} cannot be the arrangement of {year}")
    for name, days in (("holidays", body.holidays), ("workdays", body.workdays)):
        seen: set[date] = set()
        for i, day in enumerate(days):
            if day.year != year:
                err([name, i], f"{day} is not in {year}")
            if day in seen:
                err([name, i], f"{day} is listed twice")
            seen.add(day)
    holidays = set(body.holidays)
    for i, day in enumerate(body.workdays):
        if day in holidays:
            err(["workdays", i], f"{day} is also listed as a holiday")
        if day.weekday() < 5:
            err(["workdays", i], f"{day} is a weekday: a 调休 working day is a Saturday or Sunday")
    for day, festival in statutory_days(year).items():
        if day not in holidays:
            err(["holidays"], f"the statutory day {day} ({festival}) is missing")
    return errors


def arrangement_of(row: dict) -> Arrangement:
    number, notice_date = row["notice_number"], row["notice_date"]
    return Arrangement(
        year=row["year"],
        holidays=frozenset(date.fromisoformat(d) for d in row["holidays"]),
        workdays=frozenset(date.fromisoformat(d) for d in row["workdays"]),
        source=f"{number} ({notice_date.isoformat()}), installed by {row['installed_by']} "
        f"at {row['installed_at'].isoformat()} (version {row['version']})",
        status="official",
        version=row["version"],
        notice={"number": number, "date": notice_date.isoformat()},
    )


async def newest(conn: AsyncConnection, year: int) -> dict | None:
    q = select(CALENDAR_T).where(CALENDAR_T.c.year == year).order_by(CALENDAR_T.c.version.desc()).limit(1)
    row = (await conn.execute(q)).first()
    return dict(row._mapping) if row else None


async def load_installed(engine: AsyncEngine) -> list[Arrangement]:
    """The version in force of every installed year."""
    latest = (
        select(CALENDAR_T.c.year, func.max(CALENDAR_T.c.version).label("version"))
        .group_by(CALENDAR_T.c.year)
        .subquery()
    )
    q = select(CALENDAR_T).join(
        latest, (CALENDAR_T.c.year == latest.c.year) & (CALENDAR_T.c.version == latest.c.version)
    )
    async with engine.connect() as conn:
        return [arrangement_of(dict(r._mapping)) for r in await conn.execute(q)]


def installed_event(row: dict, arrangement: Arrangement) -> OutboundEvent:
    data = {
        **arrangement.as_dict(),
        "installed_by": row["installed_by"],
        "installed_at": row["installed_at"].isoformat(),
    }
    return OutboundEvent(
        topic=CALENDAR,
        key=str(row["year"]),
        event=build_event(
            type=CALENDAR_INSTALLED,
            source=SOURCE,
            subject=str(row["year"]),
            id=f"calendar:{row['year']}:v{row['version']}",
            time=row["installed_at"],
            data=data,
        ),
    )


async def install(conn: AsyncConnection, year: int, body: ArrangementIn, *, by: str, now: datetime) -> dict:
    """Store the next version of the year and announce it (one transaction). Two administrators
    installing at once: the unique (year, version) refuses the second, which is told to retry."""
    held = await newest(conn, year)
    row = {
        "year": year,
        "version": (held["version"] if held else 0) + 1,
        "notice_number": body.notice.number,
        "notice_date": body.notice.date,
        "holidays": sorted({d.isoformat() for d in body.holidays}),
        "workdays": sorted({d.isoformat() for d in body.workdays}),
        "installed_by": by,
        "installed_at": now,
    }
    await conn.execute(CALENDAR_T.insert().values(**row))
    await write_outbox(conn, MESSAGING.outbox, [installed_event(row, arrangement_of(row))])
    return row
