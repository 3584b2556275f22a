"""The evaluation policies as data: Shenyang's purchaser assessment (210100) and Xuchang's agency
points and differentiated supervision (411000). Each number is a `Number`: value, unit, source and
whether it is law or a value the finance department sets. The seeds give the categories but almost no
numbers, so nearly every number is `policy_value`: nothing in the code supplies a default.

A policy applies only in its region and the divisions under it; elsewhere `NotCovered` names the
policy and the region it was made for (the caller answers a problem with that text)."""

import json
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from services.common.identifiers import regions_above

POLICY_DIR = Path(__file__).parent / "policies"

SubjectKind = Literal["agency", "supplier", "purchaser"]


class Number(BaseModel):
    value: float
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1, description="the article that gives it, or who sets it where the law does not")
    kind: Literal["law", "policy_value"]


class Indicator(BaseModel):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    source: Literal["watch", "records", "officer"] = Field(description="where the indicator's figure comes from")
    figure: str | None = Field(description="the figure's name in its source; None for an officer-entered indicator")
    rule: Literal["linear_rate", "deduction_per_count", "count_up_to_full", "officer_score"]
    weight: Number
    per_count: Number | None = None
    full_at: Number | None = Field(default=None, description="count_up_to_full: the count that earns the weight")
    note: str | None = Field(default=None, description="what the figure is, or why an officer enters it")

    @model_validator(mode="after")
    def _rule_fits(self) -> "Indicator":
        if (self.rule == "officer_score") != (self.source == "officer"):
            raise ValueError(f"{self.code}: officer_score is the rule of officer-entered indicators only")
        if self.source != "officer" and not self.figure:
            raise ValueError(f"{self.code}: a {self.source} indicator names its figure")
        if (self.rule == "deduction_per_count") != (self.per_count is not None):
            raise ValueError(f"{self.code}: per_count goes with deduction_per_count only")
        if (self.rule == "count_up_to_full") != (self.full_at is not None):
            raise ValueError(f"{self.code}: full_at goes with count_up_to_full only")
        if self.full_at is not None and self.full_at.value <= 0:
            raise ValueError(f"{self.code}: full_at is a count above 0")
        if self.source == "officer" and not (self.note or "").strip():
            raise ValueError(f"{self.code}: an officer-entered indicator notes why the system has no figure for it")
        return self


class Category(BaseModel):
    code: str
    name: str
    indicators: list[Indicator] = Field(min_length=1)


class GradeBand(BaseModel):
    grade: str = Field(min_length=1)
    min_score: Number


def _bands_descending(bands: list[GradeBand]) -> list[GradeBand]:
    floors = [band.min_score.value for band in bands]
    if floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
        raise ValueError("grade bands are listed best first with strictly falling minimum scores")
    if floors[-1] != 0:
        raise ValueError("the last grade band starts at 0, so every score has a grade")
    return bands


class RunRules(BaseModel):
    """When the yearly run fires (the Temporal Schedule) and how long its tasks have."""

    month: Number
    day: Number
    hour: Number
    review_due_working_days: Number
    interview_due_working_days: Number

    @model_validator(mode="after")
    def _calendar(self) -> "RunRules":
        if not (1 <= self.month.value <= 12 and 1 <= self.day.value <= 28 and 0 <= self.hour.value <= 23):
            raise ValueError("the run fires on a month 1-12, a day 1-28 (every month has it) and an hour 0-23")
        return self


class AssessmentPolicy(BaseModel):
    """Shenyang 000 §三.1: the seven categories of the purchasers' performance assessment."""

    region: str
    name: str
    source: str
    categories: list[Category]
    grade_bands: list[GradeBand] = Field(min_length=1)
    interview_below: Number = Field(description="a result under this opens a supervision_interview (约谈) task")
    run: RunRules

    @model_validator(mode="after")
    def _check(self) -> "AssessmentPolicy":
        names = [category.name for category in self.categories]
        if names != list(SEVEN_CATEGORIES):
            raise ValueError(f"the assessment has the seven categories of 000 §三.1 in order, not {names}")
        codes = [indicator.code for indicator in self.indicators()]
        if len(set(codes)) != len(codes):
            raise ValueError("indicator codes are unique")
        _bands_descending(self.grade_bands)
        return self

    def indicators(self) -> list[Indicator]:
        return [indicator for category in self.categories for indicator in category.indicators]


SEVEN_CATEGORIES = (
    "内部控制管理",
    "采购效率与效益",
    "采购公平与监督",
    "发挥政策功能",
    "信息公开透明",
    "信用评级履职",
    "其他加分项",
)


class PointsRules(BaseModel):
    """Points of one kind of subject: a start, less points per record in force by severity, less points
    per percentage point its on-time rate (the watch service's figure) falls under a target."""

    start: Number
    per_general: Number
    per_serious: Number
    on_time_target: Number | None
    per_point_below_target: Number | None

    @model_validator(mode="after")
    def _pair(self) -> "PointsRules":
        if (self.on_time_target is None) != (self.per_point_below_target is None):
            raise ValueError("on_time_target and per_point_below_target are set together")
        return self


class SupervisionPolicy(BaseModel):
    """Xuchang 004 item 23 (agency points) and item 28 (differentiated supervision by grade)."""

    region: str
    name: str
    source: str
    points: dict[Literal["agency", "supplier"], PointsRules]
    grade_bands: list[GradeBand] = Field(min_length=1)
    inspection_weights: dict[str, Number]
    run: RunRules

    @model_validator(mode="after")
    def _check(self) -> "SupervisionPolicy":
        _bands_descending(self.grade_bands)
        grades = {band.grade for band in self.grade_bands}
        if set(self.inspection_weights) != grades:
            raise ValueError("every grade, and only a grade, has an inspection weight")
        if any(weight.value <= 0 for weight in self.inspection_weights.values()):
            raise ValueError("inspection weights are positive")
        return self


class NotCovered(LookupError):
    """No policy of this kind covers the region: the message names the policy and where it applies."""


@cache
def _assessments() -> dict[str, AssessmentPolicy]:
    policy = AssessmentPolicy.model_validate(json.loads((POLICY_DIR / "shenyang-assessment.json").read_text("utf-8")))
    return {policy.region: policy}


@cache
def _supervisions() -> dict[str, SupervisionPolicy]:
    policy = SupervisionPolicy.model_validate(json.loads((POLICY_DIR / "xuchang-supervision.json").read_text("utf-8")))
    return {policy.region: policy}


P = TypeVar("P", AssessmentPolicy, SupervisionPolicy)


def _covering(policies: dict[str, P], region: str, what: str) -> P:
    try:
        chain = regions_above(region)
    except ValueError as error:
        raise NotCovered(str(error)) from error
    for code in chain:
        if code in policies:
            return policies[code]
    made = "; ".join(f"{policy.name} applies in {code}" for code, policy in policies.items())
    raise NotCovered(f"no {what} policy covers {region}: {made}, and not elsewhere")


def assessment_policy_for(region: str) -> AssessmentPolicy:
    return _covering(_assessments(), region, "purchaser assessment")


def supervision_policy_for(region: str) -> SupervisionPolicy:
    return _covering(_supervisions(), region, "points and differentiated supervision")


def covered_regions() -> list[tuple[Literal["purchaser", "agency"], str]]:
    """(kind, region) of every yearly run a policy asks for."""
    runs: list[tuple[Literal["purchaser", "agency"], str]] = [("purchaser", r) for r in sorted(_assessments())]
    return runs + [("agency", r) for r in sorted(_supervisions())]
