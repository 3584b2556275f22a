"""Pure scoring: the purchaser assessment (000 §三.1) and points of agencies and suppliers (004 item 23).

Every number comes out with its provenance (`Line`): the indicator, where its figure came from, the
figure, the rule and the policy numbers used, and for officer-entered scores and adjustments who
entered them and why. Nothing here reads a database or a clock: the figures are given."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.evaluations.grades import grade_for
from services.evaluations.policy import AssessmentPolicy, GradeBand, Indicator, PointsRules


class MissingFigures(ValueError):
    """A figure the policy scores is not given (the draft cannot be computed until it is)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("missing figures: " + ", ".join(missing))
        self.missing = missing


@dataclass(frozen=True)
class OfficerEntry:
    """An officer-entered indicator score or an adjustment of a result, always with a reason."""

    points: float
    reason: str
    officer: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("an officer's entry gives its reason")
        if not self.officer.strip():
            raise ValueError("an officer's entry names the officer")


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    source: str
    figure: str | None
    value: float | None
    rule: str
    basis: str
    points: float
    officer: str | None = None
    reason: str | None = None
    note: str | None = None  # the policy's note: what the figure is, or why an officer enters it


@dataclass(frozen=True)
class Result:
    total: float
    grade: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Assessment(Result):
    interview: bool
    by_category: tuple[tuple[str, float], ...]


def _round(value: float) -> float:
    return round(value + 0.0, 2)


def _rate(indicator: Indicator, value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"{indicator.code}: a rate is between 0 and 1, not {value}")
    return value


def _count(indicator: Indicator, value: float) -> float:
    if value < 0 or value != int(value):
        raise ValueError(f"{indicator.code}: a count is a whole number ≥ 0, not {value}")
    return value


def score_indicator(indicator: Indicator, figures: Mapping[str, float], entries: Mapping[str, OfficerEntry]) -> Line:
    weight = indicator.weight.value
    if indicator.rule == "officer_score":
        entry = entries[indicator.code]
        if not 0 <= entry.points <= weight:
            raise ValueError(f"{indicator.code}: an officer's score is between 0 and {weight}, not {entry.points}")
        return Line(
            code=indicator.code,
            name=indicator.name,
            source=indicator.source,
            figure=None,
            value=None,
            rule=indicator.rule,
            basis=f"entered by the officer, 0..{weight:g} points",
            points=_round(entry.points),
            officer=entry.officer,
            reason=entry.reason,
            note=indicator.note,
        )
    assert indicator.figure is not None  # the policy model requires it outside officer_score
    value = figures[indicator.figure]
    if indicator.rule == "linear_rate":
        points = weight * _rate(indicator, value)
        basis = f"{weight:g} points × rate {value:g}"
    elif indicator.rule == "count_up_to_full":
        assert indicator.full_at is not None  # the policy model pairs it with count_up_to_full
        full = indicator.full_at.value
        points = weight * min(_count(indicator, value), full) / full
        basis = f"{weight:g} points × min({value:g}, {full:g}) / {full:g} ({indicator.full_at.unit})"
    else:
        assert indicator.per_count is not None  # the policy model pairs it with deduction_per_count
        per = indicator.per_count.value
        _count(indicator, value)
        points = max(0.0, weight - per * value)
        basis = f"{weight:g} points − {per:g} × {value:g} ({indicator.per_count.unit}), not under 0"
    return Line(
        code=indicator.code,
        name=indicator.name,
        source=indicator.source,
        figure=indicator.figure,
        value=value,
        rule=indicator.rule,
        basis=basis,
        points=_round(points),
        note=indicator.note,
    )


def _missing(policy: AssessmentPolicy, figures: Mapping[str, float], entries: Mapping[str, OfficerEntry]) -> list[str]:
    missing = []
    for indicator in policy.indicators():
        if indicator.source == "officer":
            if indicator.code not in entries:
                missing.append(f"{indicator.code} (officer input)")
        elif indicator.figure not in figures:
            missing.append(f"{indicator.code} ({indicator.source}: {indicator.figure})")
    return missing


def _adjusted(subtotal: float, adjustments: Sequence[OfficerEntry], ceiling: float) -> tuple[float, list[Line]]:
    lines = [
        Line(
            code="adjustment",
            name="officer's adjustment",
            source="officer",
            figure=None,
            value=None,
            rule="adjustment",
            basis="added to the computed result",
            points=_round(entry.points),
            officer=entry.officer,
            reason=entry.reason,
        )
        for entry in adjustments
    ]
    total = subtotal + sum(entry.points for entry in adjustments)
    return _round(min(ceiling, max(0.0, total))), lines


def assess(
    policy: AssessmentPolicy,
    figures: Mapping[str, float],
    entries: Mapping[str, OfficerEntry],
    adjustments: Sequence[OfficerEntry] = (),
) -> Assessment:
    """The purchaser's result: the indicators' points summed (each at most its weight), then any
    officer adjustments, kept within 0 and the sum of the weights."""
    missing = _missing(policy, figures, entries)
    if missing:
        raise MissingFigures(missing)
    lines: list[Line] = []
    by_category = []
    for category in policy.categories:
        category_lines = [score_indicator(indicator, figures, entries) for indicator in category.indicators]
        by_category.append((category.name, _round(sum(line.points for line in category_lines))))
        lines.extend(category_lines)
    ceiling = sum(indicator.weight.value for indicator in policy.indicators())
    total, adjustment_lines = _adjusted(sum(line.points for line in lines), adjustments, ceiling)
    return Assessment(
        total=total,
        grade=grade_for(policy.grade_bands, total),
        lines=tuple(lines + adjustment_lines),
        interview=total < policy.interview_below.value,
        by_category=tuple(by_category),
    )


def points(
    rules: PointsRules,
    bands: list[GradeBand],
    general: int,
    serious: int,
    on_time_rate: float | None,
    adjustments: Sequence[OfficerEntry] = (),
) -> Result:
    """An agency's (or supplier's) points: the start, less points per general and serious record in
    force, less points per percentage point its on-time rate falls under the target, not under 0."""
    if general < 0 or serious < 0:
        raise ValueError("record counts are ≥ 0")
    start = rules.start.value
    lines = [
        Line(
            code="start",
            name="starting points",
            source="policy",
            figure=None,
            value=None,
            rule="start",
            basis=rules.start.source,
            points=_round(start),
        ),
        *(
            Line(
                code=f"records.{severity}",
                name=f"{severity} records in force",
                source="records",
                figure=f"{severity}_in_force",
                value=count,
                rule="deduction_per_count",
                basis=f"−{per.value:g} × {count}",
                points=_round(-per.value * count),
            )
            for severity, per, count in (
                ("general", rules.per_general, general),
                ("serious", rules.per_serious, serious),
            )
        ),
    ]
    if rules.on_time_target is not None and rules.per_point_below_target is not None:
        if on_time_rate is None:
            raise MissingFigures(["on_time.rate (watch: on_time_rate)"])
        if not 0 <= on_time_rate <= 1:
            raise ValueError(f"an on-time rate is between 0 and 1, not {on_time_rate}")
        below = max(0.0, rules.on_time_target.value - on_time_rate * 100)
        target, per_point = rules.on_time_target.value, rules.per_point_below_target.value
        lines.append(
            Line(
                code="on_time",
                name="projects on time (watch)",
                source="watch",
                figure="on_time_rate",
                value=on_time_rate,
                rule="deduction_below_target",
                basis=f"−{per_point:g} × {below:g} points under {target:g} %",
                points=_round(-per_point * below),
            )
        )
    total, adjustment_lines = _adjusted(sum(line.points for line in lines), adjustments, start)
    return Result(total=total, grade=grade_for(bands, total), lines=tuple(lines + adjustment_lines))
