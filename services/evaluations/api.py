"""HTTP of the evaluations service: a purchaser's assessment (Shenyang 000 §三.1), an agency's
evaluation (Xuchang 004 item 23), officer input for officer-entered indicators (audited, with a
reason), and the grade-weighted inspection draw (004 item 28), stored and audited.

Deny unless a role allows: finance departments of the subject's region (and above) read and enter;
a purchaser or agency reads its own result; nobody else. A region without the policy is refused
naming the policy that applies elsewhere (`no_policy`)."""

import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.auth import FINANCE_ROLES, Principal, Role, require_roles
from services.common.identifiers import division_covers, is_division_code
from services.common.lawdates import today
from services.common.problems import Problem
from services.common.runtime import Runtime, RuntimeDep
from services.evaluations.draw import inspection_draw
from services.evaluations.evaluate import evaluate_agency, evaluate_purchaser
from services.evaluations.models import RESULTS
from services.evaluations.policy import NotCovered, SupervisionPolicy, assessment_policy_for, supervision_policy_for
from services.evaluations.scoring import Assessment, MissingFigures, OfficerEntry
from services.evaluations.store import (
    ADJUSTMENT,
    add_entry,
    graded,
    hold_publication,
    save_draw,
)
from services.evaluations.supplier_grades import supplier_grades, suppliers_of
from services.evaluations.tree import category_tree

router = APIRouter(tags=["evaluations"])
Finance = Annotated[Principal, Depends(require_roles(*FINANCE_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(*FINANCE_ROLES, Role.PURCHASER, Role.AGENCY))]
Period = Annotated[str, Query(pattern=r"^\d{4}$", description="the assessment year, YYYY")]
Region = Annotated[str, Query(min_length=6, max_length=6, description="the subject's division code")]


def _region(p: Principal, region: str) -> None:
    if not is_division_code(region):
        raise Problem(422, "invalid_query", "Invalid region", f"{region!r} is not a division code")
    if not p.covers_region(region):
        raise Problem(403, "forbidden", "Forbidden", f"region {region} is outside your department's")


def _reader(p: Principal, region: str, kind: Role, subject_id: str) -> None:
    if p.role == kind and p.org == subject_id:
        return
    _region(p, region)


def _not_covered(error: NotCovered, region: str) -> Problem:
    return Problem(422, "no_policy", "No evaluation policy for the region", str(error), region=region)


def _missing(error: MissingFigures) -> Problem:
    return Problem(409, "figures_missing", "Figures missing", str(error), missing=error.missing)


@router.get("/v1/purchasers/{purchaser_id}/assessment")
async def purchaser_assessment(purchaser_id: str, region: Region, period: Period, p: Reader, rt: RuntimeDep) -> dict:
    """The purchaser's performance assessment for the year: the seven categories' indicators, each
    with its source (watch figures, records, officer input), the rule, the policy numbers and where
    the figure was read; the total, the grade and whether it falls below the interview threshold."""
    _reader(p, region, Role.PURCHASER, purchaser_id)
    try:
        policy = assessment_policy_for(region)
    except NotCovered as error:
        raise _not_covered(error, region) from None
    published = await _published_result(rt, "purchaser", purchaser_id, period)
    if published is not None:
        return {**published, "categories": category_tree(policy, published["lines"])}
    async with rt.engine.connect() as conn:
        try:
            evaluated = await evaluate_purchaser(conn, policy, purchaser_id, period)
        except MissingFigures as error:
            raise _missing(error) from None
    result = evaluated.result
    assert isinstance(result, Assessment)
    return {
        "purchaser": purchaser_id,
        "region": region,
        "period": period,
        "policy": policy.name,
        "state": "current",
        "total": result.total,
        "grade": result.grade,
        "interview": result.interview,
        "interview_below": policy.interview_below.model_dump(),
        "categories": category_tree(policy, evaluated.lines),
        "lines": evaluated.lines,
    }


@router.get("/v1/agencies/{agency_id}/evaluation")
async def agency_evaluation(agency_id: str, region: Region, period: Period, p: Reader, rt: RuntimeDep) -> dict:
    """The agency's points for the year (004 item 23): the start, less points per record in force and
    per percentage point of on-time rate under the target; the grade from the policy's bands."""
    _reader(p, region, Role.AGENCY, agency_id)
    try:
        policy = supervision_policy_for(region)
    except NotCovered as error:
        raise _not_covered(error, region) from None
    published = await _published_result(rt, "agency", agency_id, period)
    if published is not None:
        return published
    async with rt.engine.connect() as conn:
        try:
            evaluated = await evaluate_agency(conn, policy, agency_id, period)
        except MissingFigures as error:
            raise _missing(error) from None
    result = evaluated.result
    return {
        "agency": agency_id,
        "region": region,
        "period": period,
        "policy": policy.name,
        "state": "current",
        "total": result.total,
        "grade": result.grade,
        "lines": evaluated.lines,
    }


class EntryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region: str = Field(min_length=6, max_length=6)
    period: str = Field(pattern=r"^\d{4}$")
    # Finite only: a NaN adjustment would make the total NaN, and every comparison with it false.
    points: float = Field(
        allow_inf_nan=False, description="an indicator's points (0..its weight), or an adjustment's (signed)"
    )
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/v1/purchasers/{purchaser_id}/assessment/entries/{indicator}", status_code=201)
async def purchaser_entry(purchaser_id: str, indicator: str, body: EntryRequest, p: Finance, rt: RuntimeDep) -> dict:
    """An officer enters an officer-sourced indicator's score, or an adjustment of the result
    (`indicator` = `adjustment`), always with a reason; every entry is kept (the audit trail), the
    latest per indicator counts."""
    return await _enter("purchaser", purchaser_id, indicator, body, p, rt)


@router.post("/v1/agencies/{agency_id}/evaluation/entries/adjustment", status_code=201)
async def agency_adjustment(agency_id: str, body: EntryRequest, p: Finance, rt: RuntimeDep) -> dict:
    """An officer adjusts an agency's points, with a reason (kept, shown in the provenance)."""
    return await _enter("agency", agency_id, ADJUSTMENT, body, p, rt)


async def _enter(
    subject_kind: str, subject_id: str, indicator: str, body: EntryRequest, p: Principal, rt: Runtime
) -> dict:
    _region(p, body.region)
    try:
        if subject_kind == "purchaser":
            policy_indicators = {i.code: i for i in assessment_policy_for(body.region).indicators()}
        else:
            supervision_policy_for(body.region)
            policy_indicators = {}
    except NotCovered as error:
        raise _not_covered(error, body.region) from None
    if indicator != ADJUSTMENT:
        known = policy_indicators.get(indicator)
        if known is None or known.source != "officer":
            raise Problem(
                422,
                "invalid_query",
                "Not an officer-entered indicator",
                f"{indicator} is not an officer-entered indicator of the policy",
            )
        if not 0 <= body.points <= known.weight.value:
            raise Problem(
                422,
                "invalid_query",
                "Points out of range",
                f"{indicator} takes 0 to {known.weight.value:g} points, not {body.points:g}",
            )
    entry = OfficerEntry(body.points, body.reason, p.sub)
    async with rt.engine.begin() as conn:
        await hold_publication(conn, subject_kind, body.period)
        row = await add_entry(
            conn,
            kind=subject_kind,
            subject_id=subject_id,
            period=body.period,
            region=body.region,
            indicator=indicator,
            entry=entry,
            at=datetime.now(UTC),
        )
        published = (await conn.execute(_published_q(subject_kind, subject_id, body.period))).first() is not None
    # Once the year's result is published an entry is kept (the audit trail) but does not change it.
    return {**row, "entered_at": row["entered_at"].isoformat(), "changes_result": not published}


@router.get("/v1/inspections/sample")
async def inspection_sample(
    region: Region,
    kind: Literal["agency", "supplier", "purchaser"],
    size: Annotated[int, Query(ge=1, le=1000)],
    p: Finance,
    rt: RuntimeDep,
    seed: Annotated[int | None, Query(ge=0, lt=2**63, description="re-run a draw; default: a fresh seed")] = None,
) -> dict:
    """A 双随机 inspection sample weighted by grade (004 item 28: worse grades drawn more often, the
    policy's weights) from the subjects of `kind` with a published grade in the region (suppliers:
    their grade today from their records in force, /v1/suppliers/grades). The draw —
    seed, population, weights, result, who and when — is stored and returned with its id."""
    _region(p, region)
    try:
        policy = supervision_policy_for(region)
    except NotCovered as error:
        raise _not_covered(error, region) from None
    weights = {grade: number.value for grade, number in policy.inspection_weights.items()}
    chosen_seed = secrets.randbits(62) if seed is None else seed
    now = datetime.now(UTC)
    async with rt.engine.begin() as conn:
        population = await _population(conn, kind, region, policy, weights)
        draw = inspection_draw(population, weights, size=size, seed=chosen_seed)
        grade_of = dict(population)
        row = {
            "id": uuid.uuid4().hex,
            "region": region,
            "kind": kind,
            "size": size,
            "seed": chosen_seed,
            "policy": policy.name,
            "population": [{"id": s, "grade": g, "weight": weights[g]} for s, g in population],
            "drawn": [{"id": s, "grade": grade_of[s]} for s in draw.drawn],
            "drawn_by": p.sub,
            "drawn_at": now,
        }
        await save_draw(conn, row)
    return {
        **row,
        "drawn_at": now.isoformat(),
        "weights": {g: n.model_dump() for g, n in policy.inspection_weights.items()},
    }


async def _population(
    conn: AsyncConnection, kind: str, region: str, policy: SupervisionPolicy, weights: dict[str, float]
) -> list[tuple[str, str]]:
    if kind == "supplier":
        # Suppliers are graded from their records in force today (supplier_grades.py), not by a run.
        grades = await supplier_grades(conn, policy, await suppliers_of(conn, region), today())
        subjects = [(g.supplier_id, g.result.grade) for g in grades]
    else:
        subjects = await graded(conn, kind, region)
    population = [(s, g) for s, g in subjects if g in weights]
    if not population:
        raise Problem(
            409,
            "nothing_to_draw",
            "Nothing to draw",
            f"no {kind} in {region} has a grade of this policy's bands" + ("" if kind == "supplier" else " published"),
        )
    return population


async def _published_rows(rt: Runtime, kind: str, region: str, period: str) -> list[dict]:
    q = select(RESULTS).where(
        RESULTS.c.subject_kind == kind, RESULTS.c.period == period, RESULTS.c.state == "published"
    )
    async with rt.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(q)).mappings() if division_covers(region, r["region"])]
    ranked = sorted(rows, key=lambda r: (-r["score"], r["subject_id"]))
    return [
        {
            "rank": n,
            "subject_id": r["subject_id"],
            "region": r["region"],
            "total": r["score"],
            "grade": r["grade"],
            "policy": r["policy"],
            "published_at": r["updated_at"].isoformat(),
        }
        for n, r in enumerate(ranked, start=1)
    ]


@router.get("/v1/agencies")
async def published_agencies(region: Region, period: Period, rt: RuntimeDep) -> dict:
    """The published year-end evaluations of the region's agencies, ranked (000 §三.4: published so
    purchasers can choose; public, no token needed). Only what was published after review."""
    if not is_division_code(region):
        raise Problem(422, "invalid_query", "Invalid region", f"{region!r} is not a division code")
    return {"region": region, "period": period, "items": await _published_rows(rt, "agency", region, period)}


@router.get("/v1/purchasers")
async def published_purchasers(region: Region, period: Period, p: Finance, rt: RuntimeDep) -> dict:
    """The published assessments of the region's purchasers, ranked: for the finance departments
    (a reference for budgets, 000 §三.1)."""
    _region(p, region)
    return {"region": region, "period": period, "items": await _published_rows(rt, "purchaser", region, period)}


def _published_q(kind: str, subject_id: str, period: str) -> Select:
    return select(RESULTS).where(
        RESULTS.c.subject_kind == kind,
        RESULTS.c.subject_id == subject_id,
        RESULTS.c.period == period,
        RESULTS.c.state == "published",
    )


async def _published_result(rt: Runtime, kind: str, subject_id: str, period: str) -> dict | None:
    """Once published, the answer is the published result (its lines, officers' reasons included),
    not a new computation from figures that may have changed since."""
    async with rt.engine.connect() as conn:
        row = (await conn.execute(_published_q(kind, subject_id, period))).mappings().first()
    if row is None:
        return None
    return {
        kind: subject_id,
        "region": row["region"],
        "period": period,
        "policy": row["policy"],
        "state": "published",
        "published_at": row["updated_at"].isoformat(),
        "total": row["score"],
        "grade": row["grade"],
        "lines": row["lines"],
    }
