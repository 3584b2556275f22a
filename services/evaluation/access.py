"""Who may read a record (CONTRACT §2): finance departments of its region or a region above it,
and the subject itself. Everyone else is refused; evidence is shown to finance only."""

from services.common.auth import Principal, Role

SUBJECT_ROLES = frozenset({Role.SUBJECT, Role.AGENCY, Role.PURCHASER})


def may_read(principal: Principal, *, region: str, subject_id: str) -> bool:
    if principal.is_finance:
        return principal.covers_region(region)
    return principal.role in SUBJECT_ROLES and principal.org == subject_id


def is_subject_itself(principal: Principal, subject_id: str) -> bool:
    return principal.role in SUBJECT_ROLES and principal.org == subject_id
