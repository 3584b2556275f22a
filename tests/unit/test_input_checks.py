"""Input checks of issue 21 (point 11): a token's lifetime is capped, an event dated ahead of the
clock or a behaviour dated before the measures is refused, digit strings are not Unix timestamps,
and lower-case or full-width USCCs are read as the codes they are."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.auth import decode_token, mint_token
from services.common.cloudevents import RejectedEvent, encode_structured, parse_kafka_message
from services.common.identifiers import normalise_applicant_id, normalise_subject_id
from services.common.problems import Problem
from services.common.schemas import BehaviourReport
from services.common.settings import DEV_JWT_SECRET
from tests.support.factories import event, new_uscc, report_data
from tests.unit.test_intake_sqlite import engine, inbound, ingest_batch, report_event  # noqa: F401

DAY = 86_400


def _token(ttl: int, now: datetime | None = None) -> str:
    return mint_token(
        sub="s", role="purchaser", org=new_uscc(), region="410300", secret=DEV_JWT_SECRET, ttl_seconds=ttl, now=now
    )


def test_a_token_valid_for_a_century_is_refused() -> None:
    assert decode_token(_token(8 * 3600), secret=DEV_JWT_SECRET, max_lifetime_seconds=DAY).role == "purchaser"
    with pytest.raises(Problem) as info:
        decode_token(_token(100 * 365 * DAY), secret=DEV_JWT_SECRET, max_lifetime_seconds=DAY)
    assert info.value.code == "invalid_token" and "longer than" in (info.value.detail or "")
    # Issued long ago, still valid for a year: its lifetime counts from iat.
    old = _token(400 * DAY, now=datetime.now(UTC) - timedelta(days=30))
    with pytest.raises(Problem):
        decode_token(old, secret=DEV_JWT_SECRET, max_lifetime_seconds=DAY)


def _parse(e: dict):  # type: ignore[no-untyped-def]
    return parse_kafka_message(*encode_structured(e))


def test_an_event_dated_ahead_of_the_clock_is_refused() -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert _parse(event(report_data()) | {"time": soon.isoformat()}).time == soon
    with pytest.raises(RejectedEvent) as info:
        _parse(event(report_data()) | {"time": "2030-01-01T00:00:00Z"})
    assert info.value.reason == "invalid_time"


def test_digit_strings_are_not_unix_timestamps() -> None:
    with pytest.raises(RejectedEvent) as info:
        _parse(event(report_data()) | {"time": "20261128"})
    assert info.value.reason == "malformed_event"
    with pytest.raises(ValidationError):
        BehaviourReport.model_validate(report_data() | {"occurred_on": "20261128"})
    assert BehaviourReport.model_validate(report_data() | {"occurred_on": "2026-11-28"}).occurred_on == date(
        2026, 11, 28
    )


async def test_a_behaviour_before_the_measures_took_effect_is_refused(engine: AsyncEngine) -> None:  # noqa: F811
    (outcome,) = await ingest_batch(engine, [inbound(report_event(occurred_on=date(1900, 1, 1)))])
    assert (outcome.kind, outcome.reason) == ("rejected", "invalid_date")
    assert "2021-01-01" in (outcome.message or "")


def test_lower_case_and_full_width_usccs_are_normalised() -> None:
    code = new_uscc()
    full_width = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for written in (code.lower(), full_width, f" {code} "):
        report = BehaviourReport.model_validate(report_data(subject_id=written))
        assert report.subject.id == code
        assert normalise_subject_id("supplier", written) == code
        assert normalise_applicant_id(None, written) == code
    # An expert's id keeps its case.
    assert normalise_subject_id("expert", "exp-Ly-001") == "exp-Ly-001"
