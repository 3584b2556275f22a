"""The repeat-complaint rule, Luoyang Art. 8(15)/(16), as a pure function over a complainant's
decided complaints (from any region: the count is nationwide, 在全国范围).

- 8(15) `SUP-S-15`: the third complaint decided unfounded (查无实据) within 12 months. The window is
  counted on `decided_on` (a decision that arrives late counts on its day), from a counted decision
  through the corresponding day 12 months later (Civil Code Art. 201: the first day is not counted,
  the period ends on the corresponding day) — in a common year, a third decision 365 days after the
  first is within it, 366 days after is not.
- 8(16) `SUP-S-16`: a decision that finds fabricated facts or false material opens a task at once.
- Only `unfounded` counts: upheld, partly upheld, rejected on procedure and withdrawn complaints do
  not. The same complaint (region and number) sent twice counts once.

A signal is never a record: each opens a determination task in the region of the latest decision,
with the complaints listed, for a finance department to decide (CONTRACT §4)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.contracts.procurement import ComplaintDecided
from services.common.lawdates import add_months
from services.common.policy import SignalRules

REPEAT_CODE = "SUP-S-15"
FABRICATED_CODE = "SUP-S-16"


@dataclass(frozen=True)
class Decision:
    """One complaint's decision as the rule counts it."""

    region: str
    complaint_no: str
    complainant: str  # "type:id", normalised by the contract's Party
    complainant_name: str
    project: str
    decided_on: date
    outcome: str
    fabricated: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.region, self.complaint_no)

    def as_json(self) -> dict[str, object]:
        return {
            "region": self.region,
            "complaint_no": self.complaint_no,
            "project": self.project,
            "decided_on": self.decided_on.isoformat(),
            "outcome": self.outcome,
            "fabricated": self.fabricated,
        }


def decision_of(event: ComplaintDecided) -> Decision:
    return Decision(
        region=event.region,
        complaint_no=event.complaint_no,
        complainant=f"{event.complainant.type}:{event.complainant.id}",
        complainant_name=event.complainant.name,
        project=event.project.code,
        decided_on=event.decided_on,
        outcome=event.outcome,
        fabricated=event.fabricated,
    )


@dataclass(frozen=True)
class ComplaintSignal:
    """A determination task to open: the code, the region of the latest decision, the complaints."""

    code: str
    region: str
    complainant: str
    complainant_name: str
    complaints: tuple[Decision, ...]
    basis: str
    # 8(15): the 12-month window the complaints fall in and how many it takes (the officer sees
    # the count against its window); None for 8(16), which needs no count.
    window: dict[str, object] | None = None

    @property
    def key(self) -> str:
        """The business key: the same complaints never open a second task."""
        return f"{self.code}:{self.complainant}:" + ",".join(
            f"{r}/{n}" for r, n in sorted(c.key for c in self.complaints)
        )


def _unfounded(decisions: Iterable[Decision]) -> list[Decision]:
    seen: dict[tuple[str, str], Decision] = {}
    for d in decisions:
        if d.outcome == "unfounded":
            seen.setdefault(d.key, d)
    return sorted(seen.values(), key=lambda d: (d.decided_on, d.key))


def signals_for(history: Iterable[Decision], new: Decision, rules: SignalRules) -> list[ComplaintSignal]:
    """What the arrival of `new` opens, given the complainant's earlier decisions (`history`, any
    region, any order, repeats allowed). A decision already in the history is a repeat: nothing."""
    earlier = list(history)
    if any(d.key == new.key for d in earlier):
        return []
    out = []
    if new.fabricated:
        out.append(
            ComplaintSignal(
                FABRICATED_CODE,
                new.region,
                new.complainant,
                new.complainant_name,
                (new,),
                "洛阳办法第八条第十六项: 捏造事实或者提供虚假材料进行投诉",
            )
        )
    if new.outcome != "unfounded":
        return out
    window = _fullest_window(_unfounded([*earlier, new]), new, rules)
    if window is not None:
        latest = max(window, key=lambda d: (d.decided_on, d.key))
        out.append(
            ComplaintSignal(
                REPEAT_CODE,
                latest.region,
                new.complainant,
                new.complainant_name,
                tuple(window),
                f"洛阳办法第八条第十五项: {int(rules.unfounded_window_months.value)}个月内"
                f"{int(rules.unfounded_complaints.value)}次以上投诉查无实据",
                _window_of(window, rules),
            )
        )
    return out


def _fullest_window(counted: list[Decision], new: Decision, rules: SignalRules) -> list[Decision] | None:
    """The window of `unfounded_window_months` holding `new` and the most counted decisions, when it
    holds at least `unfounded_complaints` of them; None otherwise."""
    months = int(rules.unfounded_window_months.value)
    needed = int(rules.unfounded_complaints.value)
    best: list[Decision] | None = None
    for start in counted:
        end = add_months(start.decided_on, months)
        if not start.decided_on <= new.decided_on <= end:
            continue
        inside = [d for d in counted if start.decided_on <= d.decided_on <= end]
        if len(inside) >= needed and (best is None or len(inside) > len(best)):
            best = inside
    return best


def _window_of(window: list[Decision], rules: SignalRules) -> dict[str, object]:
    """The window as the rule counted it: from the first counted decision through the corresponding
    day `unfounded_window_months` later, and the count it takes (policy values with their sources)."""
    months = int(rules.unfounded_window_months.value)
    start = min(d.decided_on for d in window)
    return {
        "from": start.isoformat(),
        "through": add_months(start, months).isoformat(),
        "months": months,
        "needed": int(rules.unfounded_complaints.value),
        "counted": len(window),
    }
