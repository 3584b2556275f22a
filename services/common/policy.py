"""Regional policy: every number of DESIGN's rule table, per region, versioned with effective dates.
Luoyang's measures are the default; another city's rules are another JSON file in `policies/`."""

import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from services.common.identifiers import regions_above

POLICY_DIR = Path(__file__).parent / "policies"


class RepairRules(BaseModel):
    general_wait_months: int = Field(description="001 Art. 20: a general record may be repaired after 6 months")
    serious_repairable: bool = Field(description="Luoyang: no; national rules from 2026-04-01: yes, after a minimum")
    serious_min_months: int | None = None
    review_working_days: int


class ExpertRules(BaseModel):
    general_suspension_months: int = Field(description="001 Art. 25: not drawn for 1 year")
    score_start: int = Field(description="000 §三.3: starts at 100")
    score_threshold: int = Field(description="000 §三.3: under 60 the qualification is suspended")
    default_deduction: int = Field(description="points a general behaviour costs unless listed in deductions")
    deductions: dict[str, int] = Field(default_factory=dict)
    employer_notification_url: str | None = Field(
        default=None,
        description="001 Art. 25: the expert's employer is notified (CREDIT_EMPLOYER_NOTIFICATION_URL overrides)",
    )


class DeadlineRules(BaseModel):
    """004 #18, in working days of the Chinese calendar."""

    contract_signing_after_award: int
    contract_publication_after_signing: int
    contract_filing_after_signing: int
    acceptance_after_request: int
    payment_after_invoice: int


class EvidenceAccessRules(BaseModel):
    """002 (十二): nobody views credit data's evidence without approval; access is audited."""

    approval_required: bool = True
    grant_minutes: int = Field(default=60, description="how long an approved request lets its requester read")


class TaskRules(BaseModel):
    """Case officers' tasks (Xuchang #8: reminders, overdue warnings), in working days."""

    reminder_working_days_before: int = Field(
        default=1, description="a reminder at the start of the working day this many days before the due date"
    )
    escalation_working_days_after: list[int] = Field(
        default_factory=lambda: [0, 3],
        description="escalation levels, each this many working days after the due date (0: the day after it);"
        " level 1 goes to the supervisor of the task's region, level 2 one region up",
    )


class PublicationRules(BaseModel):
    """001 Art. 21: what is published, where, how often."""

    notice_day_of_month: int = Field(default=1, description="monthly notice of the previous month, on this day")
    notice_hour: int = Field(default=9, description="local hour (Asia/Shanghai) the notice is published")
    push_escalation_hours: int = Field(default=72, description="a push still failing after this opens a task")
    push_task_due_working_days: int = Field(
        default=1, description="the officer's due date for a failing push: a blacklist not published is urgent"
    )
    guarantee_lookback_months: int = Field(
        default=36,
        description="000 §三.2: a free credit bid guarantee and a reduced bond need no record in force and none"
        " recorded in this many months",
    )
    bond_reduction_percent: int = Field(default=50, description="reduction of the performance bond for good credit")


class PolicyVersion(BaseModel):
    version: str
    effective_from: date
    effective_to: date | None = None
    serious_recorders: list[str] = Field(description="001 Art. 17-18: only finance departments")
    general_recorders: list[str]
    evidence_required_for: list[str] = Field(description="001 Art. 18: photos, audio/video, joint signatures")
    general_validity_months: int = Field(description="001 Art. 19: 1 year from recording")
    repair: RepairRules
    appeal_review_working_days: int
    determination_working_days: int
    expert: ExpertRules
    notice_cadence: str
    good_credit_lookback_months: int
    deadlines_working_days: DeadlineRules
    expiry_sweep_max_sleep_seconds: int
    evidence_access: EvidenceAccessRules = Field(default_factory=EvidenceAccessRules)
    tasks: TaskRules = Field(default_factory=TaskRules)
    publication: PublicationRules = Field(default_factory=PublicationRules)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class RegionalPolicy(BaseModel):
    region: str
    name: str
    versions: list[PolicyVersion]

    def version_on(self, day: date) -> PolicyVersion:
        for v in self.versions:
            if v.in_force_on(day):
                return v
        raise LookupError(f"no policy version of {self.region} is in force on {day.isoformat()}")


@lru_cache
def load_policies() -> dict[str, RegionalPolicy]:
    """The policies shipped in `policies/`, then those of CREDIT_POLICY_DIR (another city's rules,
    or a test region's), which may add regions or replace a shipped one."""
    policies = {}
    dirs = [POLICY_DIR] + ([Path(os.environ["CREDIT_POLICY_DIR"])] if os.environ.get("CREDIT_POLICY_DIR") else [])
    for path in [p for d in dirs for p in sorted(d.glob("*.json"))]:
        p = RegionalPolicy.model_validate(json.loads(path.read_text(encoding="utf-8")))
        policies[p.region] = p
    return policies


def policy_for(region: str, day: date, *, default_region: str = "410300") -> PolicyVersion:
    """The policy of the region or the nearest region above it; the default region's otherwise."""
    policies = load_policies()
    for code in regions_above(region):
        if code in policies:
            return policies[code].version_on(day)
    return policies[default_region].version_on(day)


def first_effective_day(region: str, *, default_region: str = "410300") -> date:
    """The first day any version of the region's policy (as `policy_for` finds it) was in force."""
    policies = load_policies()
    for code in regions_above(region):
        if code in policies:
            return min(v.effective_from for v in policies[code].versions)
    return min(v.effective_from for v in policies[default_region].versions)
