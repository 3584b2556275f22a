"""The regional policy: versioned with effective dates, resolved for a region or the one above it."""

from datetime import date

import pytest

from services.common.policy import NoPolicy, PolicyVersion, RegionalPolicy, ScoreRules, load_policies, policy_for


def test_luoyang_default_holds_the_rule_table() -> None:
    p = policy_for("410300", date(2026, 11, 22))
    assert p.serious_recorders == ["finance"]
    assert p.general_validity_months == 12
    assert p.repair.general_wait_months == 6 and p.repair.serious_repairable is False
    assert p.expert.general_suspension_months == 12
    assert p.expert.score is None  # Art. 25 only (issue 16 point 8)
    assert p.deadlines_working_days.contract_signing_after_award == 2
    assert p.deadlines_working_days.payment_after_invoice == 2


def test_point1_a_policy_applies_only_where_it_was_issued() -> None:
    """Issue 16 point 1: Luoyang's policy covers 410300 and the divisions under it; any other region
    with no policy of its own or above it has none (no fallback to Luoyang)."""
    day = date(2026, 11, 22)
    assert policy_for("410322", day) == policy_for("410300", day)
    for elsewhere in ("110105", "410000", "410200", "320100"):
        with pytest.raises(NoPolicy) as caught:
            policy_for(elsewhere, day)
        assert caught.value.region == elsewhere and elsewhere in str(caught.value)


def _version(name: str, start: date, end: date | None) -> dict:
    base = load_policies()["410300"].versions[0].model_dump()
    return {**base, "version": name, "effective_from": start, "effective_to": end}


def test_the_version_in_force_on_the_day_applies() -> None:
    national = _version("national-2026", date(2026, 4, 1), None)
    national["repair"] = {**national["repair"], "serious_repairable": True, "serious_min_months": 12}
    policy = RegionalPolicy(
        region="410300",
        name="test",
        versions=[_version("luoyang-2021", date(2021, 1, 1), date(2026, 3, 31)), national],
    )
    assert policy.version_on(date(2026, 3, 31)).version == "luoyang-2021"
    after = policy.version_on(date(2026, 4, 1))
    assert after.version == "national-2026" and after.repair.serious_repairable is True
    with pytest.raises(LookupError):
        policy.version_on(date(2020, 12, 31))


def test_policy_versions_are_data() -> None:
    assert isinstance(load_policies()["410300"].versions[0], PolicyVersion)


def test_point8_a_score_regime_has_no_default_points() -> None:
    """Issue 16 point 8: points per behaviour and what training restores come from the policy, with
    their source; nothing is assumed."""
    with pytest.raises(ValueError):
        ScoreRules.model_validate({"start": 100, "threshold": 60, "deductions": {}, "training_restores_to": 60})
    with pytest.raises(ValueError):
        ScoreRules.model_validate({"source": "x", "start": 100, "threshold": 60, "training_restores_to": 60})
    rules = ScoreRules(
        source="某市办法第十条", start=100, threshold=60, deductions={"EXP-G-01": 5}, training_restores_to=None
    )
    assert rules.deductions.get("EXP-G-02", 0) == 0
