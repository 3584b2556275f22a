"""Working days of the Chinese calendar: chinese-calendar's official data with 调休, a data file for
a year it lacks (CREDIT_CALENDAR_DIR), and an explicit error for a year nobody has data for."""

from datetime import date
from pathlib import Path

import pytest

from services.common.workdays import CalendarUnavailable, add_working_days, is_working_day, previous_working_day

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendars"


def test_2026_national_day_with_its_saturday_made_a_working_day() -> None:
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday, 调休
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert previous_working_day(date(2026, 10, 12)) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_a_year_without_data_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    with pytest.raises(CalendarUnavailable) as err:
        is_working_day(date(2027, 3, 1))
    assert err.value.year == 2027


def test_the_2027_test_fixture_is_read_from_credit_calendar_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/fixtures/calendars/2027.json is NOT official data: the 2026 pattern moved onto 2027.
    monkeypatch.setenv("CREDIT_CALENDAR_DIR", str(FIXTURES))
    assert is_working_day(date(2027, 9, 26))  # Sunday made a working day
    assert not is_working_day(date(2027, 10, 4))  # a Monday off
    assert is_working_day(date(2027, 10, 9))  # Saturday made a working day
    assert not is_working_day(date(2027, 10, 10))  # an ordinary Sunday
    assert add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)
    with pytest.raises(CalendarUnavailable):
        is_working_day(date(2028, 1, 3))
