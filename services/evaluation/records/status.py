"""A subject's credit status, derived from its records in force (pure)."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class InForce:
    record_id: str
    behaviour_code: str
    severity: str
    valid_until: date


def subject_status(subject: dict, records: list[InForce], breached: list[dict] | None = None) -> dict:
    """What `subject.status.changed.v1` says about a subject (without its version and cause).

    A serious record in force blacklists (001 Art. 21, 23): the subject may not take part until
    the last serious record lapses. A general record is published but does not bar a supplier;
    an expert with one is not drawn until it lapses and an expert with a serious one is removed
    (001 Art. 25)."""
    serious = [r for r in records if r.severity == "serious"]
    general = [r for r in records if r.severity == "general"]
    blacklisted_until = max((r.valid_until for r in serious), default=None)
    status = "blacklisted" if serious else "general_record" if general else "clean"
    snapshot: dict = {
        "subject": subject,
        "status": status,
        "may_participate": not serious,
        "blacklisted": bool(serious),
        "blacklisted_until": blacklisted_until.isoformat() if blacklisted_until else None,
        "valid_until": max((r.valid_until for r in records), default=None),
        "records_in_force": [
            {
                "record_id": r.record_id,
                "behaviour_code": r.behaviour_code,
                "severity": r.severity,
                "valid_until": r.valid_until.isoformat(),
            }
            for r in sorted(records, key=lambda r: (r.valid_until, r.record_id))
        ],
    }
    if breached:
        # Issue 14 (Shandong (十三)): a commitment found false and recorded is made public.
        snapshot["commitments_breached"] = sorted(breached, key=lambda c: c["commitment_id"])
    if snapshot["valid_until"] is not None:
        snapshot["valid_until"] = snapshot["valid_until"].isoformat()
    if subject["type"] == "expert":
        not_drawable_until = max((r.valid_until for r in general), default=None)
        snapshot["expert"] = {
            "removed": bool(serious),
            "may_be_drawn": not records,
            "not_drawable_until": not_drawable_until.isoformat() if not_drawable_until else None,
        }
    return snapshot
