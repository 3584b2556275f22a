"""A grade per supplier (Xuchang 004 item 28: differentiated supervision by credit grade) from the
policy's supplier points and bands: the start, less points per general and serious record in force
today, graded by the same bands as the agencies. Computed from this service's replica of
`credit.records` when asked — a record made, expired or repaired changes the grade at once, with
no yearly run in between — and each grade comes with its lines and the ids of the records counted.

Which suppliers a region grades: those registered there (the USCC's characters 3–8 are the
administrative division of registration, GB 32100-2015) and those with a record made there. A
supplier the credit system has never recorded is not known to it, so it is not in the population;
the register of all suppliers is not this system's."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.identifiers import division_covers, is_division_code
from services.evaluations.models import REPLICA
from services.evaluations.policy import SupervisionPolicy
from services.evaluations.records import Counted, count_in_force, records_of
from services.evaluations.scoring import Result, points
from services.evaluations.store import line_view


@dataclass(frozen=True)
class SupplierGrade:
    supplier_id: str
    result: Result
    counted: Counted
    on: date

    def view(self) -> dict:
        return {
            "supplier": self.supplier_id,
            "on": self.on.isoformat(),
            "total": self.result.total,
            "grade": self.result.grade,
            "lines": [line_view(line, {}) for line in self.result.lines],
            "records_counted": self.counted.record_ids,
        }


def registered_in(supplier_id: str, region: str) -> bool:
    """Pure: is the supplier registered in the region or a division under it (by its USCC)?"""
    division = supplier_id[2:8]
    return len(supplier_id) == 18 and is_division_code(division) and division_covers(region, division)


def grade_of(policy: SupervisionPolicy, supplier_id: str, counted: Counted | None, on: date) -> SupplierGrade:
    """Pure: the supplier's points and grade from its records in force."""
    c = counted or Counted()
    result = points(policy.points["supplier"], policy.grade_bands, general=c.general, serious=c.serious,
                    on_time_rate=None)  # fmt: skip
    return SupplierGrade(supplier_id, result, c, on)


async def suppliers_of(conn: AsyncConnection, region: str) -> list[str]:
    q = select(REPLICA.c.subject_id, REPLICA.c.region).where(REPLICA.c.subject_type == "supplier").distinct()
    return sorted(
        {s for s, where in (await conn.execute(q)).all() if division_covers(region, where) or registered_in(s, region)}
    )


async def supplier_grades(
    conn: AsyncConnection, policy: SupervisionPolicy, suppliers: list[str], on: date
) -> list[SupplierGrade]:
    counted = count_in_force(await records_of(conn, "supplier", suppliers), on)
    return [grade_of(policy, s, counted.get(s), on) for s in sorted(suppliers)]
