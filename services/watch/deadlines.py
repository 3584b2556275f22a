"""Procurement deadlines as policy data, in layers (issue 13).

- The national layer (`policies/national.json`) holds the statutory deadlines of the Government
  Procurement Law and its regulation, each with its article and unit, and applies everywhere.
- A regional layer (`policies/<city>.json`, or CREDIT_WATCH_POLICY_DIR) applies in its region and the
  divisions under it from its `effective_from`, and may only be stricter: a value that would give a
  later due date than the national one, for any start day the calendar can count, is refused when
  the policy loads, with a message naming both sources.
- A region no regional layer covers is not watched: its events are dead-lettered `no_policy` (a rule
  applies only in the region whose document made it; the national law is enforced where a finance
  department has put the watch in service).

The due date of a stage is the earliest that any layer in force gives (so even a lint escaping a
regional value could never loosen a statutory deadline), counted from the local date of the fact's
`at` on the process's working-day calendar (services/common/workdays.py), and marked provisional
when counted through a year whose holiday arrangement is not official yet."""

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from services.common.identifiers import regions_above
from services.common.workdays import LIBRARY_YEARS, RECKONER, Reckoner

POLICY_DIR = Path(__file__).parent / "policies"

Stage = Literal["contract_signing", "contract_publication", "contract_filing", "acceptance", "payment"]
# What starts and what completes each stage's clock (CONTRACT §1 types, short form).
STAGE_EVENTS: dict[str, tuple[str, str]] = {
    "contract_signing": ("award.notified", "contract.signed"),
    "contract_publication": ("contract.signed", "contract.published"),
    "contract_filing": ("contract.signed", "contract.filed"),
    "acceptance": ("acceptance.requested", "acceptance.completed"),
    "payment": ("invoice.received", "payment.made"),
}


class StageRule(BaseModel):
    value: int = Field(ge=0)
    unit: Literal["working_days", "calendar_days"]
    starts: str = Field(min_length=1)
    ends: str = Field(min_length=1)
    source: str = Field(min_length=1, description="instrument, article and its words")
    kind: Literal["law", "policy_value"]


class OverdueTask(BaseModel):
    """How long the finance department gives itself to decide a deadline_overdue task: no law sets it."""

    due_working_days: int = Field(ge=1)
    source: str = Field(min_length=1)
    kind: Literal["internal_target", "policy_value"]


class Flag(BaseModel):
    value: bool
    source: str = Field(min_length=1)


class Layer(BaseModel):
    layer: Literal["national", "regional"]
    name: str = Field(min_length=1)
    applies_to: str = ""
    region: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    stages: dict[Stage, StageRule] = Field(default_factory=dict)
    silent: dict[str, str] = Field(default_factory=dict, description="stages the instrument gives no number for")
    overdue_task: OverdueTask | None = None
    deposits_forbidden: Flag | None = None
    advisory: list[str] = Field(default_factory=list)

    def in_force_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


class PolicyConflict(ValueError):
    """A regional layer looser than the national one (raised at load, naming both sources)."""


class NoWatchPolicy(LookupError):
    def __init__(self, region: str) -> None:
        self.region = region
        super().__init__(
            f"no deadline policy covers region {region}: the watch is not in service there"
            " (no regional layer was issued for it or a region above it)"
        )


def rule_due(rule: StageRule, start: date, reckoner: Reckoner = RECKONER) -> tuple[date, bool]:
    """(due date, counted through a provisional year) of `rule` started on `start` (the start day
    itself is not counted, 民法典 第二百零一条)."""
    if rule.unit == "working_days":
        r = reckoner.add_working_days(start, rule.value)
        return r.day, r.provisional
    day = start + timedelta(days=rule.value)
    # 民法典 第二百零三条: a period whose last day is a day off ends on the next working day.
    while not reckoner.is_working_day(day):
        day += timedelta(days=1)
    return day, reckoner.any_provisional(start, day)


def _check_stricter(national: Layer, regional: Layer, reckoner: Reckoner) -> None:
    for stage, rule in regional.stages.items():
        law = national.stages.get(stage)
        if law is None:
            continue  # the law gives no number: the region's own is the only one
        both = f"regional {regional.name}: {rule.source} ({rule.value} {rule.unit}) against national {law.source}"
        if rule.unit == law.unit:
            if rule.value > law.value:
                raise PolicyConflict(f"{stage}: looser than the law — {both} ({law.value} {law.unit})")
            continue
        # Different units: compare the due dates themselves for every start day the calendar can
        # count, from the layer's first day through the first year past the official data.
        first = regional.effective_from or date(LIBRARY_YEARS.start, 1, 1)
        last = regional.effective_to or date(max(LIBRARY_YEARS.stop, first.year + 1), 12, 31)
        day = first
        while day <= last:
            if rule_due(rule, day, reckoner)[0] > rule_due(law, day, reckoner)[0]:
                raise PolicyConflict(
                    f"{stage}: looser than the law for a start on {day.isoformat()} — {both} ({law.value} {law.unit})"
                )
            day += timedelta(days=1)


@dataclass(frozen=True)
class DeadlinePolicy:
    national: Layer
    regional: dict[str, Layer]  # by region code

    def layers_for(self, region: str, day: date) -> tuple[Layer, ...]:
        """The layers in force in `region` on `day`, national first; NoWatchPolicy when none covers it."""
        try:
            codes = regions_above(region)
        except ValueError:
            raise NoWatchPolicy(region) from None
        for code in codes:
            layer = self.regional.get(code)
            if layer is not None:
                return (self.national, layer) if layer.in_force_on(day) else (self.national,)
        raise NoWatchPolicy(region)

    def regional_layer(self, region: str) -> Layer:
        for code in regions_above(region):
            if code in self.regional:
                return self.regional[code]
        raise NoWatchPolicy(region)


@dataclass(frozen=True)
class Due:
    stage: str
    due_on: date
    provisional: bool
    value: int
    unit: str
    source: str  # the rule that gave the earliest date
    sources: tuple[str, ...]  # every layer's rule for the stage


def due_for(policy: DeadlinePolicy, region: str, stage: str, start: date, reckoner: Reckoner = RECKONER) -> Due | None:
    """The stage's due date for a clock started on `start`; None when no layer sets one."""
    candidates = []
    for layer in policy.layers_for(region, start):
        rule = layer.stages.get(stage)  # type: ignore[call-overload]
        if rule is not None:
            day, provisional = rule_due(rule, start, reckoner)
            candidates.append((day, provisional, rule))
    if not candidates:
        return None
    day, provisional, rule = min(candidates, key=lambda c: c[0])
    return Due(
        stage=stage,
        due_on=day,
        provisional=provisional,
        value=rule.value,
        unit=rule.unit,
        source=rule.source,
        sources=tuple(c[2].source for c in candidates),
    )


def load_layers(directories: list[Path], reckoner: Reckoner = RECKONER) -> DeadlinePolicy:
    national: Layer | None = None
    regional: dict[str, Layer] = {}
    for path in [p for d in directories for p in sorted(d.glob("*.json"))]:
        layer = Layer.model_validate(json.loads(path.read_text(encoding="utf-8")))
        if layer.layer == "national":
            national = layer
        elif not layer.region:
            raise ValueError(f"{path.name}: a regional layer names its region")
        else:
            if layer.overdue_task is None:
                raise ValueError(f"{path.name}: a regional layer sets overdue_task (no default is invented)")
            regional[layer.region] = layer
    if national is None:
        raise ValueError("no national layer (policies/national.json)")
    for layer in regional.values():
        _check_stricter(national, layer, reckoner)
    return DeadlinePolicy(national=national, regional=regional)


@lru_cache(maxsize=1)
def deadline_policy() -> DeadlinePolicy:
    """The shipped layers and those of CREDIT_WATCH_POLICY_DIR (which may add or replace regions)."""
    extra = os.environ.get("CREDIT_WATCH_POLICY_DIR")
    return load_layers([POLICY_DIR, *([Path(extra)] if extra else [])])
