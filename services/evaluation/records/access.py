"""Who may read a record (CONTRACT §2): finance departments of its region or a region above it,
and the subject itself. Everyone else is refused; evidence is shown to finance only."""

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.auth import Principal, Role
from services.common.problems import Problem
from services.common.tables import table_of
from services.evaluation.models import CreditRecord

SUBJECT_ROLES = frozenset({Role.SUBJECT, Role.AGENCY, Role.PURCHASER})


def may_read(principal: Principal, *, region: str, subject_id: str) -> bool:
    if principal.is_finance:
        return principal.covers_region(region)
    return principal.role in SUBJECT_ROLES and principal.org == subject_id


def is_subject_itself(principal: Principal, subject_id: str) -> bool:
    return principal.role in SUBJECT_ROLES and principal.org == subject_id


async def readable_record(conn: AsyncConnection, principal: Principal, record_id: str) -> Row[Any, Any, Any]:
    """The record's id, region and subject if `principal` may read it; 404 otherwise — the same
    answer for "absent" and "not yours", so ids cannot be probed."""
    table = table_of(CreditRecord)
    q = select(table.c.id, table.c.region, table.c.subject_id).where(table.c.id == record_id)
    row = (await conn.execute(q)).first()
    if row is None or not may_read(principal, region=row.region, subject_id=row.subject_id):
        raise Problem(404, "record_not_found", "Record not found", f"no record {record_id} for you")
    return row
