"""One subject's evaluation from what is stored (figures, officer entries): used alike by the HTTP
answers and by the yearly run's activities, so a published result is what the officer reviewed."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.identifiers import division_covers
from services.evaluations.models import FIGURES
from services.evaluations.policy import AssessmentPolicy, SupervisionPolicy
from services.evaluations.scoring import Assessment, MissingFigures, Result, assess, points
from services.evaluations.store import entries_of, figures_of, line_view


@dataclass(frozen=True)
class Evaluated:
    result: Result
    lines: list[dict]

    @property
    def interview(self) -> bool:
        return isinstance(self.result, Assessment) and self.result.interview


async def evaluate_purchaser(
    conn: AsyncConnection, policy: AssessmentPolicy, subject_id: str, period: str
) -> Evaluated:
    figures = await figures_of(conn, "purchaser", subject_id, period)
    entries, adjustments = await entries_of(conn, "purchaser", subject_id, period)
    result = assess(policy, {k: v["value"] for k, v in figures.items()}, entries, adjustments)
    return Evaluated(result, [line_view(line, figures) for line in result.lines])


async def evaluate_agency(conn: AsyncConnection, policy: SupervisionPolicy, subject_id: str, period: str) -> Evaluated:
    figures = await figures_of(conn, "agency", subject_id, period)
    _, adjustments = await entries_of(conn, "agency", subject_id, period)
    missing = [f"records: {name}" for name in ("general_in_force", "serious_in_force") if name not in figures]
    if missing:
        raise MissingFigures(missing)
    rate = figures.get("on_time_rate")
    result = points(
        policy.points["agency"],
        policy.grade_bands,
        general=int(figures["general_in_force"]["value"]),
        serious=int(figures["serious_in_force"]["value"]),
        on_time_rate=rate["value"] if rate else None,
        adjustments=adjustments,
    )
    return Evaluated(result, [line_view(line, figures) for line in result.lines])


async def subjects_with_figures(conn: AsyncConnection, kind: str, region: str, period: str) -> list[str]:
    q = select(FIGURES.c.subject_id, FIGURES.c.region).where(FIGURES.c.subject_kind == kind, FIGURES.c.period == period)
    return sorted({subject for subject, where in (await conn.execute(q)).all() if division_covers(region, where)})
