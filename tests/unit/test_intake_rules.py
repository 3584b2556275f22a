"""The pure intake rules (CONTRACT §3, §4; Luoyang Art. 17-19) and the subject status they lead to."""

from datetime import date, timedelta

import pytest

from services.common.catalogue import load_catalogue
from services.common.identifiers import make_uscc
from services.common.policy import policy_for
from services.common.schemas import BehaviourReport
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED
from services.evaluation.intake.rules import OpenDetermination, Record, Rejection, decide
from services.evaluation.records.status import InForce, subject_status
from tests.support import factories as f

TODAY = date(2026, 11, 22)
EXPERT_ID = "EXP-0001"


def report(**overrides) -> BehaviourReport:  # type: ignore[no-untyped-def]
    overrides.setdefault("occurred_on", TODAY - timedelta(days=3))
    data = f.report_data(**overrides)
    return BehaviourReport.model_validate(data)


def determination(
    *, decided_on: date = TODAY - timedelta(days=1), liability_ends_on: date = TODAY + timedelta(days=730)
) -> dict:
    return {
        "decision_no": "洛财购处〔2026〕1号",
        "decided_on": decided_on.isoformat(),
        "liability_ends_on": liability_ends_on.isoformat(),
        "penalty": "一年内禁止参加政府采购活动",
    }


def run(event_type: str = BEHAVIOUR_REPORTED, *, today: date = TODAY, reporter_regions=None, **overrides):  # type: ignore[no-untyped-def]
    # Luoyang's policy: the region may be the invalid thing under test (policy_for refuses it).
    policy = policy_for("410300", today)
    r = report(**overrides)
    if reporter_regions is None:  # as over Kafka: where the reporter's USCC was registered
        reporter_regions = [r.reporter.id[2:8]]
    return decide(
        event_type, r, catalogue=load_catalogue(), policy=policy, today=today, reporter_regions=reporter_regions
    )


def rejected(event_type: str = BEHAVIOUR_REPORTED, **overrides) -> Rejection:  # type: ignore[no-untyped-def]
    decision = run(event_type, **overrides)
    assert isinstance(decision, Rejection), decision
    return decision


def recorded(code: str, valid_until: date) -> Record:
    return Record(behaviour=load_catalogue().get(code), valid_until=valid_until)  # type: ignore[arg-type]


ONE_YEAR = date(2027, 11, 22)  # 001 Art. 19: a general record stands one year from TODAY


def bad_uscc() -> str:
    good = f.new_uscc()
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[-1])
    return good[:-1] + wrong


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["999999", "41032", "410022", "4103a2"])
def test_bad_region_is_invalid_identifier(region: str) -> None:
    assert rejected(region=region).reason == "invalid_identifier"


def test_subject_uscc_with_wrong_check_character_is_invalid_identifier() -> None:
    assert rejected(subject_id=bad_uscc()).reason == "invalid_identifier"


def test_purchaser_reporter_with_bad_uscc_is_invalid_identifier() -> None:
    assert rejected(reporter_type="purchaser", reporter_id=bad_uscc()).reason == "invalid_identifier"


def test_finance_reporter_without_division_code_is_invalid_identifier() -> None:
    assert rejected(reporter_type="finance", reporter_id="4103", with_evidence=False).reason == "invalid_identifier"


@pytest.mark.parametrize("expert_id", ["expert 1", "专家001", "exp/1"])
def test_bad_expert_id_is_invalid_identifier(expert_id: str) -> None:
    assert rejected(subject_type="expert", subject_id=expert_id, code="EXP-G-01").reason == "invalid_identifier"


@pytest.mark.parametrize("code", ["SUP-G-99", "SUP-X-01", "sup-g-01", "NOPE"])
def test_code_outside_the_catalogue_is_unknown_behaviour_code(code: str) -> None:
    assert rejected(code=code).reason == "unknown_behaviour_code"


def test_agency_code_for_a_supplier_is_subject_mismatch() -> None:
    assert rejected(subject_type="supplier", code="AGY-G-01").reason == "subject_mismatch"


@pytest.mark.parametrize("code", ["SUP-G-01", "SUP-S-01", "AGY-G-01", "EXP-S-01"])
def test_any_code_for_a_purchaser_subject_is_subject_mismatch(code: str) -> None:
    subject = make_uscc("12410300MB0000099")
    refusal = rejected(subject_type="purchaser", subject_id=subject, code=code)
    assert refusal.reason == "subject_mismatch"
    # Issue 15: the reason names the measures that list no purchaser behaviour (none added to Luoyang).
    assert "洛财购〔2021〕12号" in refusal.message and "lists no behaviour of a purchaser" in refusal.message


def test_a_catalogue_with_purchaser_behaviours_would_accept_purchaser_subjects() -> None:
    assert not load_catalogue().has_behaviours_of("purchaser")
    assert load_catalogue().has_behaviours_of("supplier") and load_catalogue().has_behaviours_of("agency")


def test_misconduct_determined_from_a_purchaser_is_not_authorised() -> None:
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="purchaser", code="SUP-S-01", determination=determination())
    assert (r.reason, r.status) == ("not_authorised", 403)


def test_misconduct_determined_from_an_agency_is_not_authorised() -> None:
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="agency", code="SUP-S-01", determination=determination())
    assert r.reason == "not_authorised"


def test_finance_of_another_city_is_not_authorised_for_the_region() -> None:
    # 410100 (Zhengzhou) has no authority over 410322 (a county of Luoyang).
    r = rejected(
        MISCONDUCT_DETERMINED,
        reporter_type="finance",
        reporter_id="410100",
        region="410322",
        code="SUP-S-01",
        determination=determination(),
    )
    assert (r.reason, r.status) == ("not_authorised", 403)


def test_county_finance_is_not_authorised_for_its_city() -> None:
    r = rejected(reporter_type="finance", reporter_id="410322", region="410300", code="SUP-G-01")
    assert r.reason == "not_authorised"


@pytest.mark.parametrize("reporter_type", ["purchaser", "agency"])
def test_purchaser_or_agency_without_evidence_is_evidence_required(reporter_type: str) -> None:
    assert rejected(reporter_type=reporter_type, with_evidence=False).reason == "evidence_required"


def test_serious_report_without_evidence_is_evidence_required_too() -> None:
    assert rejected(reporter_type="purchaser", code="SUP-S-01", with_evidence=False).reason == "evidence_required"


def test_finance_without_evidence_is_accepted() -> None:
    decision = run(reporter_type="finance", reporter_id="410300", with_evidence=False)
    assert decision == recorded("SUP-G-01", ONE_YEAR)


def test_finance_serious_code_without_determination_is_determination_required() -> None:
    r = rejected(reporter_type="finance", code="SUP-S-01", with_evidence=False)
    assert r.reason == "determination_required"


def test_determination_with_a_general_code_is_severity_mismatch() -> None:
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-G-01", determination=determination())
    assert r.reason == "severity_mismatch"


def test_reported_general_code_carrying_a_determination_is_severity_mismatch() -> None:
    r = rejected(BEHAVIOUR_REPORTED, reporter_type="finance", code="SUP-G-01", determination=determination())
    assert r.reason == "severity_mismatch"


def test_behaviour_occurring_in_the_future_is_invalid_date() -> None:
    assert rejected(occurred_on=TODAY + timedelta(days=1)).reason == "invalid_date"


def test_behaviour_occurring_today_is_accepted() -> None:
    assert run(occurred_on=TODAY) == recorded("SUP-G-01", ONE_YEAR)


def test_decided_after_liability_ends_is_invalid_date() -> None:
    d = determination(decided_on=TODAY - timedelta(days=1), liability_ends_on=TODAY - timedelta(days=2))
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)
    assert r.reason == "invalid_date"


def test_decided_in_the_future_is_invalid_date() -> None:
    d = determination(decided_on=TODAY + timedelta(days=1))
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)
    assert r.reason == "invalid_date"


def test_liability_period_already_over_is_liability_ended() -> None:
    d = determination(decided_on=TODAY - timedelta(days=400), liability_ends_on=TODAY - timedelta(days=1))
    r = rejected(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)
    assert r.reason == "liability_ended"


def test_liability_ending_today_is_still_recorded() -> None:
    d = determination(decided_on=TODAY - timedelta(days=1), liability_ends_on=TODAY)
    decision = run(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)
    assert decision == recorded("SUP-S-01", TODAY)


# --- accepted -----------------------------------------------------------------------------------


def test_general_from_purchaser_is_recorded_for_one_year() -> None:
    decision = run(reporter_type="purchaser", code="SUP-G-01")
    assert decision == recorded("SUP-G-01", ONE_YEAR)


def test_general_recorded_on_leap_day_runs_to_end_of_february() -> None:
    today = date(2024, 2, 29)
    decision = run(reporter_type="agency", code="SUP-G-02", occurred_on=date(2024, 2, 1), today=today)
    assert decision == recorded("SUP-G-02", date(2025, 2, 28))


@pytest.mark.parametrize("reporter_type", ["purchaser", "agency"])
def test_serious_from_purchaser_or_agency_opens_a_determination(reporter_type: str) -> None:
    decision = run(reporter_type=reporter_type, code="SUP-S-01")
    assert decision == OpenDetermination(behaviour=load_catalogue().get("SUP-S-01"))  # type: ignore[arg-type]


def test_serious_from_finance_with_determination_is_recorded_until_liability_ends() -> None:
    ends = TODAY + timedelta(days=1000)
    d = determination(liability_ends_on=ends)
    decision = run(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)
    assert decision == recorded("SUP-S-01", ends)
    assert decision.behaviour.severity == "serious"


def test_city_finance_may_record_for_its_county() -> None:
    decision = run(
        MISCONDUCT_DETERMINED,
        reporter_type="finance",
        reporter_id="410300",
        region="410322",
        code="SUP-S-01",
        determination=determination(),
    )
    assert decision == recorded("SUP-S-01", TODAY + timedelta(days=730))


def test_expert_general_is_recorded() -> None:
    decision = run(subject_type="expert", subject_id=EXPERT_ID, code="EXP-G-01")
    assert decision == recorded("EXP-G-01", ONE_YEAR)


# --- subject status -----------------------------------------------------------------------------

SUPPLIER = {"type": "supplier", "id": "91410300MA0000002X", "name": "洛阳某某科技有限公司"}
EXPERT = {"type": "expert", "id": EXPERT_ID, "name": "张三"}


def in_force(record_id: str, severity: str, valid_until: date, code: str = "SUP-G-01") -> InForce:
    return InForce(record_id=record_id, behaviour_code=code, severity=severity, valid_until=valid_until)


def test_subject_without_records_is_clean() -> None:
    s = subject_status(SUPPLIER, [])
    assert s["status"] == "clean"
    assert s["may_participate"] is True
    assert s["blacklisted"] is False
    assert s["blacklisted_until"] is None
    assert s["valid_until"] is None
    assert s["records_in_force"] == []
    assert "expert" not in s


def test_general_record_is_published_but_does_not_bar() -> None:
    s = subject_status(SUPPLIER, [in_force("r1", "general", date(2027, 11, 22))])
    assert s["status"] == "general_record"
    assert s["may_participate"] is True
    assert s["blacklisted"] is False
    assert s["blacklisted_until"] is None
    assert s["valid_until"] == "2027-11-22"


def test_serious_record_blacklists_until_the_latest_serious_valid_until() -> None:
    records = [
        in_force("r1", "serious", date(2027, 6, 1), "SUP-S-01"),
        in_force("r2", "serious", date(2028, 3, 1), "SUP-S-02"),
        in_force("r3", "general", date(2029, 1, 1)),
    ]
    s = subject_status(SUPPLIER, records)
    assert s["status"] == "blacklisted"
    assert s["may_participate"] is False
    assert s["blacklisted"] is True
    assert s["blacklisted_until"] == "2028-03-01"  # the general record does not extend the ban
    assert s["valid_until"] == "2029-01-01"
    assert [r["record_id"] for r in s["records_in_force"]] == ["r1", "r2", "r3"]


def test_clean_expert_may_be_drawn() -> None:
    s = subject_status(EXPERT, [])
    assert s["expert"] == {"removed": False, "may_be_drawn": True, "not_drawable_until": None}


def test_expert_with_general_record_is_not_drawn_until_it_lapses() -> None:
    s = subject_status(EXPERT, [in_force("r1", "general", date(2027, 11, 22), "EXP-G-01")])
    assert s["expert"]["may_be_drawn"] is False
    assert s["expert"]["removed"] is False
    assert s["expert"]["not_drawable_until"] == "2027-11-22"


def test_expert_with_serious_record_is_removed() -> None:
    s = subject_status(EXPERT, [in_force("r1", "serious", date(2028, 1, 1), "EXP-S-01")])
    assert s["status"] == "blacklisted"
    assert s["expert"]["removed"] is True
    assert s["expert"]["may_be_drawn"] is False


def test_point4_a_province_finance_department_may_not_record() -> None:
    """Issue 16 point 4: 001 Art. 17 — 市、县财政部门 record; a province's covers its cities to supervise."""
    serious = rejected(
        MISCONDUCT_DETERMINED,
        code="SUP-S-03",
        reporter_type="finance",
        reporter_id="410000",
        determination=determination(),
    )
    assert (serious.reason, serious.status) == ("not_authorised", 403)
    general = rejected(code="SUP-G-01", reporter_type="finance", reporter_id="410000")
    assert general.reason == "not_authorised"
    assert isinstance(
        run(
            MISCONDUCT_DETERMINED,
            code="SUP-S-03",
            reporter_type="finance",
            reporter_id="410300",
            determination=determination(),
        ),
        Record,
    )


def test_point4_an_agency_may_not_record_another_agency() -> None:
    refused = rejected(code="AGY-G-01", subject_type="agency", reporter_type="agency")
    assert (refused.reason, refused.status) == ("not_authorised", 403)
    assert isinstance(run(code="AGY-G-01", subject_type="agency", reporter_type="purchaser"), Record)


def test_point5_the_catch_all_cannot_be_determined_without_its_legal_basis() -> None:
    """Issue 16 point 5 (part): a determination carries its legal basis (处罚依据); SUP-S-18 (其他违反
    法律、法规、行政规章规定的严重失信行为) cites no statute, so a determination of it must name one."""
    bare = rejected(MISCONDUCT_DETERMINED, code="SUP-S-18", reporter_type="finance", determination=determination())
    assert bare.reason == "legal_basis_required"
    named = {**determination(), "legal_basis": "《中华人民共和国政府采购法实施条例》第七十二条第一款"}
    ok = run(MISCONDUCT_DETERMINED, code="SUP-S-18", reporter_type="finance", determination=named)
    assert isinstance(ok, Record)
    # A behaviour whose catalogue entry cites a statute needs none in the determination.
    assert isinstance(
        run(MISCONDUCT_DETERMINED, code="SUP-S-03", reporter_type="finance", determination=determination()), Record
    )


@pytest.mark.parametrize("reporter_type", ["purchaser", "agency"])
def test_reporter_outside_its_region_is_not_authorised(reporter_type: str) -> None:
    """Issue 21 (10): a purchaser of Luoyang (registered 410300) records nothing in Beijing (110000)."""
    beijing = rejected(reporter_type=reporter_type, region="110000")
    assert (beijing.reason, beijing.status) == ("not_authorised", 403)
    assert "110000" in beijing.message
    # A serious code opens no determination task there either.
    assert rejected(reporter_type=reporter_type, region="110000", code="SUP-S-03").reason == "not_authorised"
    # Its own city, a county under it, and (registered in a county) its city's department are fine.
    assert isinstance(run(reporter_type=reporter_type, region="410300"), Record)
    assert isinstance(run(reporter_type=reporter_type, region="410322"), Record)
    county = make_uscc("12410322MB0000009")
    assert isinstance(run(reporter_type=reporter_type, reporter_id=county, region="410300"), Record)
    # Another county of the same city is not its region.
    assert rejected(reporter_type=reporter_type, reporter_id=county, region="410323").reason == "not_authorised"
    # Where the caller's region is known otherwise (a token, a platform's projects), that counts: a
    # reporter registered in Beijing running a Luoyang project. (Issue 16 point 1: the report's region
    # must have a policy, so the project is in Luoyang, not Beijing as before the merge.)
    beijing_registered = make_uscc("12110105MB0000009")
    assert rejected(reporter_type=reporter_type, reporter_id=beijing_registered).reason == "not_authorised"
    assert isinstance(
        run(reporter_type=reporter_type, reporter_id=beijing_registered, reporter_regions=["410300"]), Record
    )
    assert rejected(reporter_type=reporter_type, reporter_regions=[]).reason == "not_authorised"
