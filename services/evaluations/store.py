"""Reading what an evaluation scores (figures, officer entries) and keeping its results and draws."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.identifiers import division_covers
from services.common.sql import lock_keys, upsert_rows
from services.evaluations.models import DRAWS, ENTRIES, FIGURES, RESULTS
from services.evaluations.scoring import Line, OfficerEntry, Result

ADJUSTMENT = "adjustment"
# The service each kind of figure was read from (collect.py): the watch's endpoint, or the records
# owner's events on credit.records as this service's replica holds them.
SOURCE_SERVICES = {"watch": "watch", "records": "evaluation (credit.records)"}


async def hold_publication(conn: AsyncConnection, kind: str, period: str) -> None:
    """Until the end of the transaction, no entry of `kind` for `period` and no publication of its
    results runs beside it: a publication reads every entry committed before it, and an entry
    entered while one publishes waits and then sees the result published (PostgreSQL advisory lock;
    one writer in SQLite anyway)."""
    await lock_keys(conn, [f"evaluation-publication:{kind}:{period}"])


async def figures_of(conn: AsyncConnection, kind: str, subject_id: str, period: str) -> dict[str, dict]:
    q = select(FIGURES).where(
        FIGURES.c.subject_kind == kind, FIGURES.c.subject_id == subject_id, FIGURES.c.period == period
    )
    return {r["name"]: dict(r) for r in (await conn.execute(q)).mappings()}


async def add_entry(
    conn: AsyncConnection,
    *,
    kind: str,
    subject_id: str,
    period: str,
    region: str,
    indicator: str,
    entry: OfficerEntry,
    at: datetime,
) -> dict:
    row = {
        "id": uuid.uuid4().hex,
        "subject_kind": kind,
        "subject_id": subject_id,
        "period": period,
        "region": region,
        "indicator": indicator,
        "points": entry.points,
        "reason": entry.reason,
        "officer": entry.officer,
        "entered_at": at,
    }
    await conn.execute(ENTRIES.insert().values(**row))
    return row


async def entries_of(
    conn: AsyncConnection, kind: str, subject_id: str, period: str
) -> tuple[dict[str, OfficerEntry], list[OfficerEntry]]:
    """The latest entry per indicator (earlier ones stay as the audit trail) and every adjustment."""
    q = (
        select(ENTRIES)
        .where(ENTRIES.c.subject_kind == kind, ENTRIES.c.subject_id == subject_id, ENTRIES.c.period == period)
        .order_by(ENTRIES.c.entered_at, ENTRIES.c.id)
    )
    latest: dict[str, OfficerEntry] = {}
    adjustments: list[OfficerEntry] = []
    for r in (await conn.execute(q)).mappings():
        entry = OfficerEntry(r["points"], r["reason"], r["officer"])
        if r["indicator"] == ADJUSTMENT:
            adjustments.append(entry)
        else:
            latest[r["indicator"]] = entry
    return latest, adjustments


def line_view(line: Line, figures: dict[str, dict]) -> dict:
    """A line with where its figure came from (the fetched source) — every number's provenance."""
    view = {
        "code": line.code,
        "name": line.name,
        "source": line.source,
        "rule": line.rule,
        "basis": line.basis,
        "points": line.points,
        "figure": line.figure,
        "value": line.value,
    }
    if line.officer is not None:
        view |= {"officer": line.officer, "reason": line.reason}
    if line.note is not None:
        view["note"] = line.note
    if line.figure is not None and line.figure in figures:
        fetched = figures[line.figure]
        view["read_from"] = {
            "service": SOURCE_SERVICES.get(fetched["source"], fetched["source"]),
            "source_ref": fetched["source_ref"],
            "fetched_at": fetched["fetched_at"].isoformat(),
        }
    return view


async def save_result(
    conn: AsyncConnection,
    *,
    kind: str,
    subject_id: str,
    period: str,
    region: str,
    policy: str,
    result: Result,
    lines: list[dict],
    state: str,
    at: datetime,
) -> None:
    row = {
        "subject_kind": kind,
        "subject_id": subject_id,
        "period": period,
        "region": region,
        "policy": policy,
        "score": result.total,
        "grade": result.grade,
        "lines": lines,
        "state": state,
        "updated_at": at,
    }
    await upsert_rows(conn, RESULTS, [row], key=["subject_kind", "subject_id", "period"])


async def graded(conn: AsyncConnection, kind: str, region: str) -> list[tuple[str, str]]:
    """(subject, grade) of the latest published result of each subject of `kind` in the region and
    the divisions under it."""
    q = (
        select(RESULTS.c.subject_id, RESULTS.c.grade, RESULTS.c.region)
        .where(RESULTS.c.subject_kind == kind, RESULTS.c.state == "published")
        .order_by(RESULTS.c.subject_id, RESULTS.c.period)
    )
    latest: dict[str, str] = {}
    for subject, grade, where in (await conn.execute(q)).all():
        if division_covers(region, where):
            latest[subject] = grade
    return sorted(latest.items())


async def save_draw(conn: AsyncConnection, row: dict) -> None:
    await conn.execute(DRAWS.insert().values(**row))
