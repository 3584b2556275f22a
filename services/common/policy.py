"""Regional policy: every number of DESIGN's rule table, per region, versioned with effective dates.

A policy applies only where it was issued: Luoyang's measures (洛财购〔2021〕12号, issued by the
Luoyang finance bureau) cover 410300 and the divisions under it, nothing else. A region with no
policy of its own or of a region above it has none: `policy_for` raises `NoPolicy` naming it (the
caller dead-letters `no_policy` or answers a problem). Another city's rules are another JSON file in
`policies/` or in CREDIT_POLICY_DIR."""

import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.common.identifiers import division_level, is_division_code, regions_above
from services.common.lawdates import add_months

POLICY_DIR = Path(__file__).parent / "policies"


class RepairRules(BaseModel):
    general_wait_months: int = Field(description="001 Art. 20: a general record may be repaired after 6 months")
    serious_repairable: bool = Field(description="Luoyang: no; national rules from 2026-04-01: yes, after a minimum")
    serious_min_months: int | None = None
    review_working_days: int


class ScoreRules(BaseModel):
    """An expert score regime (000 §三.3, the Shenyang draft: 一般评价行为扣分, 得分小于60分暂停评审资格):
    a policy option, off unless a region's measures set it. The draft gives no point values, so every
    number here is the region's, with its source: no default points."""

    source: str = Field(min_length=1, description="the instrument and articles that set these points")
    start: int
    threshold: int = Field(description="under this score the expert is suspended until training")
    deductions: dict[str, int] = Field(description="points per general behaviour code; a code not listed deducts 0")
    training_restores_to: int | None = Field(
        description="the score completed training restores (None: training does not lift the suspension)"
    )


class ExpertRules(BaseModel):
    general_suspension_months: int = Field(description="001 Art. 25: not drawn for 1 year")
    score: ScoreRules | None = Field(
        default=None, description="a score regime where the region's measures set one; Luoyang: none (Art. 25 only)"
    )
    employer_notification_url: str | None = Field(
        default=None,
        description="001 Art. 25: the expert's employer is notified (CREDIT_EMPLOYER_NOTIFICATION_URL overrides)",
    )


class DeadlineRules(BaseModel):
    """Procurement deadlines in working days of the Chinese calendar, where a region's own document
    sets them (Xuchang's 004 #18 is such a document: the watch's regional layer, services/watch/
    policies/xuchang.json, holds it). A rule applies only in the region whose document made it, so a
    credit policy without such a document has none."""

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
    guarantee_lookback_months: int | None = Field(
        default=None,
        description="000 §三.2 asks only for 信用记录良好: decided on the records in force. A region whose"
        " measures name a look-back (no record recorded in N months) sets it here, with its source",
    )
    guarantee_lookback_source: str | None = Field(
        default=None, description="the instrument and article that name the look-back (required with it)"
    )

    @model_validator(mode="after")
    def _lookback_has_a_source(self) -> "PublicationRules":
        if self.guarantee_lookback_months is not None and not (self.guarantee_lookback_source or "").strip():
            raise ValueError("guarantee_lookback_months needs guarantee_lookback_source: the rule that names it")
        if self.bond_reduction_percent is not None and not (self.bond_reduction_source or "").strip():
            raise ValueError("bond_reduction_percent needs bond_reduction_source: the rule that sets it")
        if self.deposits_forbidden and not (self.deposits_forbidden_source or "").strip():
            raise ValueError("deposits_forbidden needs deposits_forbidden_source: the rule that forbids them")
        return self

    bond_reduction_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="000 §三.2 leaves the reduction of the performance bond to the purchaser 根据项目实际: a"
        " percentage only where the region's measures set one (with bond_reduction_source); none by default",
    )
    bond_reduction_source: str | None = None
    deposits_forbidden: bool = Field(
        default=False,
        description="the region's measures forbid collecting bid and performance deposits at all (e.g. Xuchang"
        " 2023 春风行动 item 19), with deposits_forbidden_source",
    )
    deposits_forbidden_source: str | None = None


class PolicyNumber(BaseModel):
    """A threshold of a rule, in its unit, with where it comes from: the law, or the department's own
    value where the law names no number (`policy_value`)."""

    value: float = Field(ge=0)
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    kind: Literal["law", "policy_value"]


class SignalRules(BaseModel):
    """Issue 14: signals that open cases for a finance department, never records by themselves.

    Luoyang Art. 10 (after 87号令 Art. 37) names the behaviours deemed collusive but no numbers: the
    Hamming distance, the price tolerance and the closing delay are values the department sets. Art.
    8(15) names its own: three groundless complaints within 12 months."""

    simhash_max_hamming: PolicyNumber = Field(description="bits: two documents this close are near-identical")
    price_pattern_min_bids: PolicyNumber = Field(description="bids: a regular price pattern needs this many")
    price_pattern_tolerance: PolicyNumber = Field(
        description="fraction of the step: how far a difference or ratio may stray and still be 'constant'"
    )
    bidding_close_delay_hours: PolicyNumber = Field(
        description="hours after the last bid a project with no award is evaluated as closed"
    )
    unfounded_complaints: PolicyNumber = Field(description="Art. 8(15): this many groundless complaints ...")
    unfounded_window_months: PolicyNumber = Field(description="... within this many months (rolling)")


class Clock(BaseModel):
    """A deadline of the policy typed: its value in its own unit, what starts it, where it comes from,
    and whether it is law or a target the department set for itself."""

    value: int = Field(ge=0)
    unit: Literal["working_days", "calendar_days", "months", "hours"]
    starts: str = Field(min_length=1, description="the event the clock runs from")
    source: str = Field(min_length=1)
    kind: Literal["law", "internal_target", "policy_value"]


# 国办发〔2020〕49号 (八): the statement window before listing, a value the department sets (no default).
STATEMENT_WINDOW = "statement_window"

# Each deadline field of a version and the clock that must type it (same value, same unit).
CLOCK_FIELDS: dict[str, tuple[str, str]] = {
    "general_validity": ("general_validity_months", "months"),
    "repair_wait": ("repair.general_wait_months", "months"),
    "repair_review": ("repair.review_working_days", "working_days"),
    "determination": ("determination_working_days", "working_days"),
    "expert_general_suspension": ("expert.general_suspension_months", "months"),
    "contract_signing_after_award": ("deadlines_working_days.contract_signing_after_award", "working_days"),
    "contract_publication_after_signing": ("deadlines_working_days.contract_publication_after_signing", "working_days"),
    "contract_filing_after_signing": ("deadlines_working_days.contract_filing_after_signing", "working_days"),
    "acceptance_after_request": ("deadlines_working_days.acceptance_after_request", "working_days"),
    "payment_after_invoice": ("deadlines_working_days.payment_after_invoice", "working_days"),
    "push_escalation": ("publication.push_escalation_hours", "hours"),
    "push_task_due": ("publication.push_task_due_working_days", "working_days"),
}


class PolicyVersion(BaseModel):
    version: str
    # The instrument's date; None where it is unknown (the version applies from the start then).
    effective_from: date | None = None
    effective_to: date | None = None
    serious_recorders: list[str] = Field(description="001 Art. 17-18: only finance departments")
    general_recorders: list[str]
    recording_levels: list[Literal["province", "city", "county"]] = Field(
        description="001 Art. 17: records are made by 市、县财政部门 — a finance department of these division"
        " levels; a province's may supervise, not record"
    )
    evidence_required_for: list[str] = Field(description="001 Art. 18: photos, audio/video, joint signatures")
    general_validity_months: int = Field(description="001 Art. 19: 1 year from recording")
    repair: RepairRules
    # Superseded by clocks["appeal_review"] (issue 16 point 11); still read from older files.
    appeal_review_working_days: int | None = None
    determination_working_days: int
    expert: ExpertRules
    notice_cadence: str
    deadlines_working_days: DeadlineRules | None = None  # only where the region's own document sets them
    expiry_sweep_max_sleep_seconds: int
    evidence_access: EvidenceAccessRules = Field(default_factory=EvidenceAccessRules)
    tasks: TaskRules = Field(default_factory=TaskRules)
    publication: PublicationRules = Field(default_factory=PublicationRules)
    clocks: dict[str, Clock] = Field(description="every deadline typed: unit, start event, source, law or target")
    signals: SignalRules | None = Field(
        default=None, description="issue 14's thresholds; a region whose version has none raises no signals"
    )

    @model_validator(mode="after")
    def _every_deadline_is_typed(self) -> "PolicyVersion":
        for name, (path, unit) in CLOCK_FIELDS.items():
            value: object = self
            for part in path.split("."):
                value = getattr(value, part) if value is not None else None
            clock = self.clocks.get(name)
            if value is None:
                if clock is not None:
                    raise ValueError(f"clocks[{name!r}] types {path}, which this version does not set")
                continue
            if clock is None or clock.value != value or clock.unit != unit:
                raise ValueError(f"{path} = {value} needs clocks[{name!r}] with that value in {unit}")
        if "appeal_review" not in self.clocks:
            raise ValueError("clocks['appeal_review'] is required: the objection review's deadline")
        window = self.clocks.get(STATEMENT_WINDOW)
        if window is not None and (window.kind != "policy_value" or window.unit != "calendar_days"):
            # 国办发〔2020〕49号 (八) names no number: only the department's own value, in calendar days.
            raise ValueError(f"clocks[{STATEMENT_WINDOW!r}] is a policy_value in calendar_days")
        return self

    def statement_window_days(self) -> int | None:
        """Issue 16 point 5: the days a subject has to state its case after the notice of an intended
        serious determination; None when the department set none (the officer confirms)."""
        window = self.clocks.get(STATEMENT_WINDOW)
        return None if window is None else window.value

    def may_record(self, department: str) -> bool:
        """Whether the finance department of division `department` may record (001 Art. 17)."""
        return is_division_code(department) and division_level(department) in self.recording_levels

    def in_force_on(self, day: date) -> bool:
        started = self.effective_from is None or self.effective_from <= day
        return started and (self.effective_to is None or day <= self.effective_to)


class Continuation(BaseModel):
    """An instrument an administrator records that extended or replaced the policy's instrument."""

    instrument: str = Field(min_length=1, description="number and title of the extending/replacing instrument")
    issued_on: date | None = None
    valid_until: date | None = Field(default=None, description="None: continued without a stated end")
    recorded_by: str = Field(min_length=1)
    note: str | None = None


class Instrument(BaseModel):
    """The instrument a policy comes from and the validity it states of itself (Luoyang Art. 28)."""

    number: str
    title: str
    issuer: str
    issued_on: date | None = Field(default=None, description="None: the day is unknown (say so, never guess)")
    issued_year: int | None = Field(default=None, description="the year, where only the year is known")
    validity_years: int | None = Field(description="the stated term from issue; None: the instrument states none")
    validity_clause: str | None = None
    continuations: list[Continuation] = Field(default_factory=list)


class RegionalPolicy(BaseModel):
    region: str
    name: str
    instrument: Instrument
    versions: list[PolicyVersion]

    def validity(self, today: date) -> dict:
        """Whether the instrument is within the validity it states (Art. 28 for Luoyang), counted from
        the issue day (Civil Code Art. 201-202: it ends on the corresponding day); where only the year
        is known, from its last day (the latest the term can end). Past it with no continuation
        recorded, the policy is still applied but `warning` says so loudly."""
        ins = self.instrument
        base = ins.issued_on or (date(ins.issued_year, 12, 31) if ins.issued_year else None)
        stated_end = add_months(base, 12 * ins.validity_years) if base and ins.validity_years else None
        latest = ins.continuations[-1] if ins.continuations else None
        out = {
            "region": self.region,
            "instrument": ins.number,
            "issued_on": ins.issued_on.isoformat() if ins.issued_on else "unknown",
            "validity_clause": ins.validity_clause,
            "valid_until": stated_end.isoformat() if stated_end else None,
            "valid_until_is_latest_possible": bool(stated_end and ins.issued_on is None),
            "continued_by": latest.instrument if latest else None,
            "warning": None,
        }
        if latest is not None:
            if latest.valid_until is not None and latest.valid_until < today:
                out["status"] = "past_validity"
                out["warning"] = (
                    f"{ins.number}: continued by {latest.instrument} through {latest.valid_until.isoformat()},"
                    " which has passed; still applied — record the instrument now in force"
                )
            else:
                out["status"] = "continued"
        elif stated_end is None:
            out["status"] = "no_stated_term"
        elif today > stated_end:
            out["status"] = "past_validity"
            latest_note = " at the latest (issue day unknown)" if ins.issued_on is None else ""
            out["warning"] = (
                f"{ins.number} states its own validity ({ins.validity_clause or f'{ins.validity_years} years'});"
                f" it ended on {stated_end.isoformat()}{latest_note}"
                " and no continuation is recorded: the system still applies it — record the instrument that"
                " extended or replaced it"
            )
        else:
            out["status"] = "within_validity"
        return out

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


class NoPolicy(LookupError):
    """No policy was issued for the region or a region above it (or none is in force on the day)."""

    def __init__(self, region: str, detail: str | None = None) -> None:
        self.region = region
        super().__init__(
            detail
            or f"no credit policy applies in region {region}: no policy was issued for it or for a region above it"
        )


def policy_for(region: str, day: date) -> PolicyVersion:
    """The policy of the region or the nearest region above it; `NoPolicy` when there is none.

    No fallback to another region: a city's measures bind only the departments and parties of that
    city (a 规范性文件 has effect within its issuer's area), so Luoyang's are not enforced in Beijing."""
    policies = load_policies()
    try:
        codes = regions_above(region)
    except ValueError as exc:
        raise NoPolicy(region, str(exc)) from exc
    for code in codes:
        if code in policies:
            try:
                return policies[code].version_on(day)
            except LookupError as exc:
                raise NoPolicy(region, f"no credit policy applies in region {region}: {exc}") from exc
    raise NoPolicy(region)


def validity_warnings(today: date) -> list[dict]:
    """The policies applied past their stated validity with no continuation recorded (for /healthz,
    the console banner and the start-up log)."""
    return [v for p in load_policies().values() if (v := p.validity(today))["warning"]]


def first_effective_day(region: str) -> date | None:
    """The first day the region's policy (as `policy_for` finds it) can have been in force: the
    earliest `effective_from` of its versions. A version whose `effective_from` is unknown applies
    from the instrument's issue: its `issued_on`, or where only the year is recorded (Luoyang,
    洛财购〔2021〕12号: issued in 2021, day unknown) 1 January of that year — the earliest day the
    instrument can have been issued, so the floor never refuses a behaviour the measures may cover.
    None when not even the year is known (no floor). `NoPolicy` when no policy applies."""
    policies = load_policies()
    try:
        codes = regions_above(region)
    except ValueError as exc:
        raise NoPolicy(region, str(exc)) from exc
    for code in codes:
        if code in policies:
            policy = policies[code]
            days = [v.effective_from for v in policy.versions if v.effective_from is not None]
            if len(days) < len(policy.versions):
                ins = policy.instrument
                if ins.issued_on is not None:
                    days.append(ins.issued_on)
                elif ins.issued_year is not None:
                    days.append(date(ins.issued_year, 1, 1))
                else:
                    return None
            return min(days)
    raise NoPolicy(region)
