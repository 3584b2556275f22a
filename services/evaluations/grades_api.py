"""HTTP of the supplier grades (Xuchang 004 item 28): one supplier's grade with its lines and the
records counted, and the grades of a region's suppliers — what the grade-weighted inspection draw
(`GET /v1/inspections/sample?kind=supplier`) draws from. Finance departments of the region (and
above) read them; a supplier reads its own; nobody else (deny unless a role allows)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.auth import FINANCE_ROLES, Principal, Role, require_roles
from services.common.identifiers import is_division_code
from services.common.lawdates import today
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.evaluations.policy import NotCovered, SupervisionPolicy, supervision_policy_for
from services.evaluations.supplier_grades import supplier_grades, suppliers_of

router = APIRouter(tags=["evaluations"])
Finance = Annotated[Principal, Depends(require_roles(*FINANCE_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(*FINANCE_ROLES, Role.SUBJECT))]
Region = Annotated[str, Query(min_length=6, max_length=6, description="the supervising division code")]


def _policy(p: Principal, region: str, *, own: bool = False) -> SupervisionPolicy:
    if not is_division_code(region):
        raise Problem(422, "invalid_query", "Invalid region", f"{region!r} is not a division code")
    if not own and not p.covers_region(region):
        raise Problem(403, "forbidden", "Forbidden", f"region {region} is outside your department's")
    try:
        return supervision_policy_for(region)
    except NotCovered as error:
        raise Problem(422, "no_policy", "No evaluation policy for the region", str(error), region=region) from None


@router.get("/v1/suppliers/grades")
async def region_supplier_grades(region: Region, p: Finance, rt: RuntimeDep) -> dict:
    """The grade of every supplier the region grades (registered there or recorded there), today."""
    policy = _policy(p, region)
    on = today()
    async with rt.engine.connect() as conn:
        grades = await supplier_grades(conn, policy, await suppliers_of(conn, region), on)
    return {
        "region": region,
        "on": on.isoformat(),
        "policy": policy.name,
        "items": [{"supplier": g.supplier_id, "total": g.result.total, "grade": g.result.grade} for g in grades],
    }


@router.get("/v1/suppliers/{supplier_id}/grade")
async def supplier_grade(supplier_id: str, region: Region, p: Reader, rt: RuntimeDep) -> dict:
    """One supplier's grade today under the region's policy, with the points per line and the ids
    of the records in force it counted (from the replica of credit.records)."""
    own = p.role == Role.SUBJECT and p.org == supplier_id
    if p.role == Role.SUBJECT and not own:
        raise Problem(403, "forbidden", "Forbidden", "a subject reads its own grade only")
    policy = _policy(p, region, own=own)
    async with rt.engine.connect() as conn:
        (grade,) = await supplier_grades(conn, policy, [supplier_id], today())
    return {"region": region, "policy": policy.name, **grade.view()}
