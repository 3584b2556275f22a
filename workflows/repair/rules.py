"""The pure rules of credit repair (001 Art. 20, 002 (十一)), shared by the workflow (on its clock,
the authority on timing) and the service (on the wall clock, so HTTP can answer at once).

- A general record may be applied for after it has stood `general_wait_months` (Luoyang Art. 20:
  记录半年后): the half-year ends on add_months(recorded_on, wait) (Civil Code Art. 201-202, as in
  services/common/lawdates) and the window opens at 00:00 Asia/Shanghai of the next day, so an
  application on the last day of the half-year is too early and one the day after is accepted.
  A serious record only if the policy says `serious_repairable`, after
  `serious_min_months` (national rules from 2026-04-01; Luoyang: never).
- The window closes when the record stops being in force (expiry_moment(valid_until)): an expired
  record is out of publication anyway, there is nothing left to repair.
- One application open at a time per record; a written commitment is required."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.common.lawdates import add_months, expiry_moment, local_date, start_of_day
from services.common.policy import PolicyVersion
from workflows.repair.inputs import RepairTerms

# A record that is no longer in force cannot be repaired; each state has its own stable code.
STATUS_REFUSALS = {
    "repaired": ("already_repaired", "the record has already been repaired"),
    "expired": ("record_expired", "the record has expired: it is no longer in force"),
    "withdrawn": ("record_withdrawn", "the record was withdrawn (corrected on appeal): nothing to repair"),
    "corrected": ("record_corrected", "the record was corrected on appeal: nothing to repair"),
}
# HTTP status of each refusal code (the same codes are the dead-letter reasons on Kafka).
STATUS_OF = {
    "record_not_found": 404,
    "not_your_record": 403,
    "applicant_mismatch": 403,
    "commitment_required": 422,
    "invalid_data": 422,
    "not_repairable": 422,
    "too_early": 409,
    "already_repaired": 409,
    "record_expired": 409,
    "record_withdrawn": 409,
    "record_corrected": 409,
    "record_not_in_force": 409,
    "record_under_appeal": 409,
    "application_open": 409,
    "repair_closed": 409,
}


@dataclass(frozen=True)
class Window:
    repairable: bool
    opens_on: date | None  # the first day an application is accepted
    closes_at: datetime  # the record stops being in force

    @property
    def opens_at(self) -> datetime | None:
        return start_of_day(self.opens_on) if self.opens_on is not None else None


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return STATUS_OF.get(self.code, 409)


def terms_from(policy: PolicyVersion) -> RepairTerms:
    return RepairTerms(
        policy_version=policy.version,
        general_wait_months=policy.repair.general_wait_months,
        serious_repairable=policy.repair.serious_repairable,
        serious_min_months=policy.repair.serious_min_months,
        review_working_days=policy.repair.review_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=list(policy.tasks.escalation_working_days_after),
        opens_day_after_wait=True,
    )


def window_for(severity: str, recorded_on: date, valid_until: date, terms: RepairTerms) -> Window:
    closes_at = expiry_moment(valid_until)
    if severity == "serious":
        if not terms.serious_repairable:
            return Window(False, None, closes_at)
        months = terms.serious_min_months or 0
    else:
        months = terms.general_wait_months
    wait_ends = add_months(recorded_on, months)
    # "After half a year": the half-year ends on the corresponding day (Civil Code Art. 201-202, as for
    # validity), so the first day after it is the next one. A zero wait opens on the record date.
    opens_on = wait_ends + timedelta(days=1) if months and terms.opens_day_after_wait else wait_ends
    return Window(True, opens_on, closes_at)


def judge_timing(
    *, status: str, severity: str, recorded_on: date, valid_until: date, terms: RepairTerms, now: datetime
) -> Refusal | None:
    """Whether the record may be applied for at `now`: in force, repairable, its window open."""
    if status != "in_force":
        code, message = STATUS_REFUSALS.get(status, ("record_not_in_force", f"the record is {status}"))
        return Refusal(code, message)
    window = window_for(severity, recorded_on, valid_until, terms)
    if not window.repairable:
        return Refusal(
            "not_repairable",
            f"a {severity} record is not repairable under policy {terms.policy_version}",
            {"severity": severity},
        )
    if now >= window.closes_at:
        return Refusal("record_expired", f"the record was in force through {valid_until.isoformat()}")
    assert window.opens_on is not None and window.opens_at is not None
    if now < window.opens_at:
        return Refusal(
            "too_early",
            f"repair may be applied for from {window.opens_on.isoformat()} (recorded {recorded_on.isoformat()},"
            f" today {local_date(now).isoformat()})",
            {"earliest": window.opens_on.isoformat()},
        )
    return None


def judge_application(
    *,
    record_subject_id: str,
    applicant_id: str,
    commitment: str,
    status: str,
    severity: str,
    recorded_on: date,
    valid_until: date,
    under_objection: str | None,
    open_application: str | None,
    terms: RepairTerms,
    now: datetime,
) -> Refusal | None:
    """The service's pre-check of an application, in the order a subject can act on."""
    if applicant_id != record_subject_id:
        return Refusal("not_your_record", "only the record's subject may apply for its repair")
    if not commitment.strip():
        return Refusal("commitment_required", "a written commitment (书面承诺) is required (001 Art. 20)")
    refusal = judge_timing(
        status=status, severity=severity, recorded_on=recorded_on, valid_until=valid_until, terms=terms, now=now
    )
    if refusal is not None:
        return refusal
    if under_objection:
        # The subject contests the record; the appeal decides first (it may withdraw the record).
        return Refusal(
            "record_under_appeal", f"the record is under appeal {under_objection}", {"appeal_id": under_objection}
        )
    if open_application:
        return Refusal(
            "application_open",
            f"application {open_application} for this record is still open",
            {"application_id": open_application},
        )
    return None
