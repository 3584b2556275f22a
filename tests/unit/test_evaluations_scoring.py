"""Scoring rules against worked examples written out here (the policy numbers are Shenyang's and
Xuchang's policy values in services/evaluations/policies)."""

import pytest

from services.evaluations.grades import grade_for
from services.evaluations.policy import assessment_policy_for, supervision_policy_for
from services.evaluations.scoring import MissingFigures, OfficerEntry, assess, points

SHENYANG = assessment_policy_for("210100")
XUCHANG = supervision_policy_for("411000")


def _officer(
    internal: float, policy_functions: float, bonus: float, *, payment: float = 8, checks: float = 4
) -> dict[str, OfficerEntry]:
    return {
        "internal_control.findings": OfficerEntry(internal, "2026年内控检查：制度齐全，执行有1处缺陷", "officer-1"),
        "efficiency.payment_on_time": OfficerEntry(payment, "国库支付系统核查：2笔逾期", "officer-1"),
        "policy_functions.officer": OfficerEntry(policy_functions, "中小企业预留份额达标", "officer-1"),
        "credit_duties.checks": OfficerEntry(checks, "抽查10个项目，4个留存信用查询记录", "officer-1"),
        "bonus.officer": OfficerEntry(bonus, "电子化采购试点", "officer-1"),
    }


AVERAGE_FIGURES = {
    "contract_signing_on_time_rate": 0.9,
    "records_in_force": 1,
    "contract_publication_on_time_rate": 1.0,
    "reports_made": 2,
}


def test_worked_example_of_an_average_purchaser() -> None:
    # 内部控制管理   officer                                      12
    # 采购效率与效益 10 × 0.9 = 9 ; payment: officer 8            17
    # 采购公平与监督 15 − 5 × 1 record                           10
    # 发挥政策功能   officer                                       8
    # 信息公开透明   15 × 1.0                                     15
    # 信用评级履职   reports: 5 × min(2, 1) / 1 = 5 ; checks: officer 4   9
    # 其他加分项     officer                                       3
    # total 74: 合格 (60 ≤ 74 < 75), no interview (≥ 60)
    result = assess(SHENYANG, AVERAGE_FIGURES, _officer(12, 8, 3))
    assert dict(result.by_category) == {
        "内部控制管理": 12,
        "采购效率与效益": 17,
        "采购公平与监督": 10,
        "发挥政策功能": 8,
        "信息公开透明": 15,
        "信用评级履职": 9,
        "其他加分项": 3,
    }
    assert result.total == 74 and result.grade == "合格" and not result.interview
    lines = {line.code: line for line in result.lines}
    assert lines["efficiency.contract_on_time"].source == "watch"
    assert lines["efficiency.contract_on_time"].value == 0.9
    assert lines["internal_control.findings"].reason == "2026年内控检查：制度齐全，执行有1处缺陷"
    assert lines["fairness.records"].basis.startswith("15 points − 5 × 1")
    assert (lines["credit_duties.reports"].value, lines["credit_duties.reports"].points) == (2, 5)
    assert lines["credit_duties.checks"].reason == "抽查10个项目，4个留存信用查询记录"
    # Where the system has no figure, the policy's note says why the officer enters it.
    assert "no service holds whether a purchaser queried" in (lines["credit_duties.checks"].note or "")
    assert "no payment clock in Shenyang" in (lines["efficiency.payment_on_time"].note or "")


def test_worked_example_of_the_credit_duties_from_the_reports_made() -> None:
    # 信用评级履职 = reports (5 points × min(count, 1) / 1: it reported at least once) + checks (officer, 0..10)
    #   no report, checks 7:          0 + 7 = 7
    #   one report, checks 7:         5 + 7 = 12
    #   three reports, checks 10:     5 + 10 = 15 (the reports' points stop at the weight)
    def duties(reports: int, checks: float) -> float:
        figures = {**AVERAGE_FIGURES, "reports_made": reports}
        return dict(assess(SHENYANG, figures, _officer(12, 8, 3, checks=checks)).by_category)["信用评级履职"]

    assert (duties(0, 7), duties(1, 7), duties(3, 10)) == (7, 12, 15)
    line = {x.code: x for x in assess(SHENYANG, AVERAGE_FIGURES, _officer(12, 8, 3)).lines}["credit_duties.reports"]
    assert line.source == "records" and line.figure == "reports_made" and line.rule == "count_up_to_full"
    assert line.basis == "5 points × min(2, 1) / 1 (reports in the period for the full weight)"
    with pytest.raises(ValueError, match="whole number"):
        assess(SHENYANG, {**AVERAGE_FIGURES, "reports_made": 1.5}, _officer(12, 8, 3))


def test_an_officer_adjustment_moves_the_grade_and_keeps_its_reason() -> None:
    # 74 + 2 = 76: 良好 (≥ 75)
    adjustment = OfficerEntry(2, "复核：一项逾期系系统故障所致", "reviewer-7")
    result = assess(SHENYANG, AVERAGE_FIGURES, _officer(12, 8, 3), [adjustment])
    assert result.total == 76 and result.grade == "良好"
    last = result.lines[-1]
    assert (last.code, last.points, last.reason, last.officer) == ("adjustment", 2, adjustment.reason, "reviewer-7")


def test_worked_example_of_a_poor_purchaser_opens_an_interview() -> None:
    # 5 + (10 × 0.5 + officer 4) + max(0, 15 − 5 × 4) + 3 + 15 × 0.5 + (no report 0 + officer 3) + 0
    # = 5 + 9 + 0 + 3 + 7.5 + 3 + 0 = 27.5: 较差, interview (< 60)
    figures = {
        "contract_signing_on_time_rate": 0.5,
        "records_in_force": 4,
        "contract_publication_on_time_rate": 0.5,
        "reports_made": 0,
    }
    result = assess(SHENYANG, figures, _officer(5, 3, 0, payment=4, checks=3))
    assert result.total == 27.5 and result.grade == "较差" and result.interview


def test_missing_figures_and_officer_input_are_listed_not_scored_zero() -> None:
    figures = dict(AVERAGE_FIGURES)
    del figures["contract_signing_on_time_rate"]
    del figures["reports_made"]
    entries = _officer(12, 8, 3)
    del entries["credit_duties.checks"]
    with pytest.raises(MissingFigures) as missing:
        assess(SHENYANG, figures, entries)
    assert missing.value.missing == [
        "efficiency.contract_on_time (watch: contract_signing_on_time_rate)",
        "credit_duties.reports (records: reports_made)",
        "credit_duties.checks (officer input)",
    ]


@pytest.mark.parametrize(
    ("figure", "value"),
    [("contract_signing_on_time_rate", 1.2), ("records_in_force", -1), ("records_in_force", 1.5), ("reports_made", -1)],
)
def test_impossible_figures_are_refused(figure: str, value: float) -> None:
    with pytest.raises(ValueError):
        assess(SHENYANG, {**AVERAGE_FIGURES, figure: value}, _officer(12, 8, 3))


def test_an_officer_score_above_the_weight_or_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 15"):
        assess(SHENYANG, AVERAGE_FIGURES, _officer(16, 8, 3))
    with pytest.raises(ValueError, match="reason"):
        OfficerEntry(3, "  ", "officer-1")


def test_worked_example_of_agency_points() -> None:
    # 100 − 2 × 3 general − 10 × 1 serious − 0.5 × (95 − 85) on-time = 100 − 6 − 10 − 5 = 79: B
    rules = XUCHANG.points["agency"]
    result = points(rules, XUCHANG.grade_bands, general=3, serious=1, on_time_rate=0.85)
    assert result.total == 79 and result.grade == "B"
    assert [line.points for line in result.lines] == [100, -6, -10, -5]


def test_agency_points_above_the_on_time_target_lose_nothing_and_never_fall_under_zero() -> None:
    rules = XUCHANG.points["agency"]
    assert points(rules, XUCHANG.grade_bands, general=0, serious=0, on_time_rate=0.97).total == 100
    worst = points(rules, XUCHANG.grade_bands, general=10, serious=10, on_time_rate=0.0)
    assert worst.total == 0 and worst.grade == "D"
    with pytest.raises(MissingFigures):
        points(rules, XUCHANG.grade_bands, general=0, serious=0, on_time_rate=None)


def test_worked_example_of_supplier_points_without_watch_figures() -> None:
    # 100 − 5 × 2 − 40 × 1 = 50: D
    result = points(XUCHANG.points["supplier"], XUCHANG.grade_bands, general=2, serious=1, on_time_rate=None)
    assert result.total == 50 and result.grade == "D"


@pytest.mark.parametrize(
    ("score", "grade"), [(100, "A"), (90, "A"), (89.99, "B"), (75, "B"), (60, "C"), (59.5, "D"), (0, "D")]
)
def test_grades_from_bands(score: float, grade: str) -> None:
    assert grade_for(XUCHANG.grade_bands, score) == grade
