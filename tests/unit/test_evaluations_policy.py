"""The evaluation policies as data: Shenyang's seven categories, Xuchang's points and weights, every
number sourced, each applying only in its region."""

import json

import pytest
from pydantic import ValidationError

from services.evaluations.policy import (
    POLICY_DIR,
    SEVEN_CATEGORIES,
    AssessmentPolicy,
    NotCovered,
    SupervisionPolicy,
    assessment_policy_for,
    supervision_policy_for,
)


def _numbers(node: object) -> list[dict[str, object]]:
    """Every {"value": …} object in a policy file."""
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if "value" in node:
            found.append(node)
        for child in node.values():
            found.extend(_numbers(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_numbers(child))
    return found


@pytest.mark.parametrize("name", ["shenyang-assessment.json", "xuchang-supervision.json"])
def test_every_number_has_a_unit_a_source_and_says_whether_it_is_law(name: str) -> None:
    numbers = _numbers(json.loads((POLICY_DIR / name).read_text("utf-8")))
    assert numbers
    for number in numbers:
        assert number["unit"] and number["source"], number
        assert number["kind"] in ("law", "policy_value"), number
        # The seeds give no number for any of these: none may pass as law.
        assert number["kind"] == "policy_value", number


def test_the_assessment_has_the_seven_categories_of_shenyang_000_and_weights_summing_to_100() -> None:
    policy = assessment_policy_for("210100")
    assert tuple(category.name for category in policy.categories) == SEVEN_CATEGORIES
    assert sum(indicator.weight.value for indicator in policy.indicators()) == 100
    sources = {indicator.source for indicator in policy.indicators()}
    assert sources == {"watch", "records", "officer"}


def test_a_district_of_the_city_is_covered_by_the_city_policy() -> None:
    assert assessment_policy_for("210102").region == "210100"
    assert supervision_policy_for("411002").region == "411000"


@pytest.mark.parametrize("region", ["410300", "411000", "110000"])
def test_the_assessment_is_refused_outside_shenyang_naming_the_policy(region: str) -> None:
    with pytest.raises(NotCovered) as refused:
        assessment_policy_for(region)
    assert region in str(refused.value) and "000 §三.1" in str(refused.value) and "210100" in str(refused.value)


@pytest.mark.parametrize("region", ["410300", "210100"])
def test_points_and_differentiated_supervision_are_refused_outside_xuchang(region: str) -> None:
    with pytest.raises(NotCovered) as refused:
        supervision_policy_for(region)
    assert "004" in str(refused.value) and "411000" in str(refused.value)


def test_a_bad_region_code_is_refused_not_crashed() -> None:
    with pytest.raises(NotCovered):
        assessment_policy_for("12")


def test_worse_grades_weigh_more_in_the_draw() -> None:
    policy = supervision_policy_for("411000")
    weights = [policy.inspection_weights[band.grade].value for band in policy.grade_bands]
    assert weights == sorted(weights) and len(set(weights)) == len(weights)


def test_bands_out_of_order_or_without_a_zero_floor_are_rejected() -> None:
    data = json.loads((POLICY_DIR / "xuchang-supervision.json").read_text("utf-8"))
    data["grade_bands"][0], data["grade_bands"][1] = data["grade_bands"][1], data["grade_bands"][0]
    with pytest.raises(ValidationError, match="best first"):
        SupervisionPolicy.model_validate(data)
    data = json.loads((POLICY_DIR / "xuchang-supervision.json").read_text("utf-8"))
    data["grade_bands"][-1]["min_score"]["value"] = 10
    with pytest.raises(ValidationError, match="starts at 0"):
        SupervisionPolicy.model_validate(data)


def test_a_missing_category_or_a_grade_without_a_weight_is_rejected() -> None:
    data = json.loads((POLICY_DIR / "shenyang-assessment.json").read_text("utf-8"))
    del data["categories"][6]
    with pytest.raises(ValidationError, match="seven categories"):
        AssessmentPolicy.model_validate(data)
    data = json.loads((POLICY_DIR / "xuchang-supervision.json").read_text("utf-8"))
    del data["inspection_weights"]["D"]
    with pytest.raises(ValidationError, match="inspection weight"):
        SupervisionPolicy.model_validate(data)


def test_an_officer_indicator_cannot_name_a_computed_rule() -> None:
    data = json.loads((POLICY_DIR / "shenyang-assessment.json").read_text("utf-8"))
    data["categories"][0]["indicators"][0]["rule"] = "linear_rate"
    with pytest.raises(ValidationError, match="officer_score"):
        AssessmentPolicy.model_validate(data)


def test_officer_entered_indicators_say_why_the_system_has_no_figure() -> None:
    policy = assessment_policy_for("210100")
    officer = {i.code: i.note or "" for i in policy.indicators() if i.source == "officer"}
    assert set(officer) == {
        "internal_control.findings",
        "efficiency.payment_on_time",  # no payment clock in Shenyang (national law sets no number)
        "policy_functions.officer",
        "credit_duties.checks",  # no service holds whether the purchaser checked suppliers' credit
        "bonus.officer",
    }
    assert all(note.startswith("officer-entered: ") for note in officer.values())
    reports = {i.code: i for i in policy.indicators()}["credit_duties.reports"]
    assert (reports.source, reports.figure, reports.rule) == ("records", "reports_made", "count_up_to_full")
    raw = json.loads((POLICY_DIR / "shenyang-assessment.json").read_text("utf-8"))
    del raw["categories"][5]["indicators"][1]["note"]
    with pytest.raises(ValidationError, match="notes why"):
        AssessmentPolicy.model_validate(raw)
    raw = json.loads((POLICY_DIR / "shenyang-assessment.json").read_text("utf-8"))
    del raw["categories"][5]["indicators"][0]["full_at"]
    with pytest.raises(ValidationError, match="full_at goes with count_up_to_full"):
        AssessmentPolicy.model_validate(raw)
