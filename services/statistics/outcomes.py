"""The dashboard's figures of pushes and evaluations (issue 17), read from the same sums as the rest
(figures.py): pushes to the national platforms delivered and failed, by month and by platform (the
counter `pushes`: final state, platform); published evaluations and assessments by year, kind and
grade, with the interviews they called for (`evaluations`, `evaluation_interviews`: kind, "year|grade").

A failed push is one that ended undelivered: `acknowledged` (the attempts gave up, an officer closed
the push_failure task) or `not_configured` (no endpoint for the platform, never sent); the second is
shown on its own too, since it is a setting to fix rather than a platform that refused."""

from collections import defaultdict

from pydantic import BaseModel

# Counted per period by both dimensions (figures.PERIOD_DIMS).
OUTCOME_METRICS = ("pushes", "evaluations", "evaluation_interviews")
FAILED = ("acknowledged", "not_configured")
# The grades of the bundled policies, best first; a grade not named here follows in text order.
GRADE_ORDER = ("优秀", "良好", "合格", "基本合格", "较差", "不合格", "A", "B", "C", "D")

Flow = dict[tuple[str, str, str], int]  # (metric, dim_a, month) -> n in the period
FlowB = dict[tuple[str, str, str], int]  # (metric, dim_a, dim_b) -> n in the period


class PushMonthRow(BaseModel):
    month: str
    delivered: int
    failed: int
    not_configured: int  # of the failed: no endpoint configured


class PushPlatformRow(BaseModel):
    platform: str
    delivered: int
    failed: int
    not_configured: int


class EvaluationRow(BaseModel):
    year: str  # the year evaluated
    subject_type: str  # purchaser (assessment) | agency (evaluation)
    grade: str
    published: int
    interviews: int  # results below the interview threshold: a supervision_interview task each


def push_months(flow: Flow, months: list[str]) -> list[PushMonthRow]:
    def n(state: str, month: str) -> int:
        return flow.get(("pushes", state, month), 0)

    return [
        PushMonthRow(
            month=m,
            delivered=n("delivered", m),
            failed=sum(n(s, m) for s in FAILED),
            not_configured=n("not_configured", m),
        )
        for m in months
    ]


def push_platforms(flow_b: FlowB) -> list[PushPlatformRow]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (metric, state, platform), v in flow_b.items():
        if metric == "pushes":
            per[platform][state] += v
    return [
        PushPlatformRow(
            platform=p,
            delivered=s["delivered"],
            failed=sum(s[f] for f in FAILED),
            not_configured=s["not_configured"],
        )
        for p, s in sorted(per.items())
    ]


def _grade_key(grade: str) -> tuple[int, str]:
    return (GRADE_ORDER.index(grade), "") if grade in GRADE_ORDER else (len(GRADE_ORDER), grade)


def evaluations(flow_b: FlowB) -> list[EvaluationRow]:
    """One row per year, kind and grade published in the period: the latest year first."""
    per: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (metric, kind, year_grade), v in flow_b.items():
        slot = {"evaluations": 0, "evaluation_interviews": 1}.get(metric)
        if slot is not None:
            year, _, grade = year_grade.partition("|")
            per[(year, kind, grade)][slot] += v
    rows = [
        EvaluationRow(year=y, subject_type=k, grade=g, published=p, interviews=i) for (y, k, g), (p, i) in per.items()
    ]
    return sorted(rows, key=lambda r: (-int(r.year) if r.year.isdigit() else 0, r.subject_type, _grade_key(r.grade)))
