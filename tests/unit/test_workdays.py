"""Working days of the Chinese calendar: chinese-calendar's official data with 调休, a data file for
a year it lacks (CREDIT_CALENDAR_DIR), an installed arrangement, and the provisional calendar for a
later year nobody has data for (an error only before 2004)."""

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.common.arrangements import Arrangement
from services.common.workdays import (
    RECKONER,
    CalendarUnavailable,
    Reckoner,
    Reckoning,
    add_working_days,
    is_working_day,
    previous_working_day,
    working_days_within,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendars"


def test_2026_national_day_with_its_saturday_made_a_working_day() -> None:
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday, 调休
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert previous_working_day(date(2026, 10, 12)) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_a_year_without_official_data_is_counted_provisionally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    assert not is_working_day(date(2027, 10, 4))  # 补假 of Saturday 10-02 (provisional: the law only)
    assert is_working_day(date(2027, 10, 6))  # no bridge days invented
    counted = RECKONER.add_working_days(date(2026, 12, 24), 5)
    assert counted == Reckoning(date(2026, 12, 31), False)  # 2026 only: official
    counted = RECKONER.add_working_days(date(2026, 12, 24), 6)
    assert counted == Reckoning(date(2027, 1, 4), True)  # 01-01 off by law; counted through 2027
    assert RECKONER.previous_working_day(date(2027, 1, 4)) == Reckoning(date(2026, 12, 31), True)
    assert RECKONER.arrangement(2027).status == "provisional"


def test_a_year_before_the_data_is_still_an_error() -> None:
    with pytest.raises(CalendarUnavailable) as err:
        is_working_day(date(2003, 3, 3))
    assert err.value.year == 2003


def test_an_installed_arrangement_wins_and_an_older_version_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    reckoner = Reckoner()
    fixture = json.loads((FIXTURES / "2027.json").read_text(encoding="utf-8"))  # a TEST FIXTURE, not official

    def arrangement(version: int, holidays: list[str]) -> Arrangement:
        days = frozenset(date.fromisoformat(d) for d in holidays)
        workdays = frozenset(date.fromisoformat(d) for d in fixture["workdays"])
        return Arrangement(2027, days, workdays, "test fixture", "official", version=version)

    assert reckoner.install(arrangement(2, fixture["holidays"]))
    assert not reckoner.install(arrangement(1, []))  # an older announcement heard late
    assert not reckoner.is_provisional(2027) and reckoner.installed_years() == [2027]
    assert reckoner.is_working_day(date(2027, 9, 26)) and not reckoner.is_working_day(date(2027, 10, 6))
    assert reckoner.add_working_days(date(2027, 9, 30), 1) == Reckoning(date(2027, 10, 8), False)
    assert RECKONER.is_provisional(2027)  # another reckoner is not touched


def test_the_2027_test_fixture_is_read_from_credit_calendar_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/fixtures/calendars/2027.json is NOT official data: the 2026 pattern moved onto 2027.
    monkeypatch.setenv("CREDIT_CALENDAR_DIR", str(FIXTURES))
    assert is_working_day(date(2027, 9, 26))  # Sunday made a working day
    assert not is_working_day(date(2027, 10, 4))  # a Monday off
    assert is_working_day(date(2027, 10, 9))  # Saturday made a working day
    assert not is_working_day(date(2027, 10, 10))  # an ordinary Sunday
    assert add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert not is_working_day(date(2028, 1, 3))  # no file for 2028: provisional, 元旦's 补假
    assert RECKONER.is_provisional(2028) and not RECKONER.is_provisional(2027)


def test_a_calendar_day_clock_is_counted_on_the_reckoners_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 point 11 merged with issue 12: the objection review's 20 calendar days (征信业管理条例
    Art. 25) become the working days within them, counted by the reckoner — on the provisional
    calendar for a year not announced yet, never Monday to Friday. Filed Monday 2027-12-20: the 20
    days end 2028-01-09; 2028-01-01 (元旦) is a Saturday, so the law gives 补假 on Monday 01-03."""
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    monkeypatch.setattr(RECKONER, "_installed", {})
    filed = date(2027, 12, 20)
    weekdays = sum((filed + timedelta(days=k)).weekday() < 5 for k in range(1, 21))
    assert working_days_within(filed, 20) == (weekdays - 1, True)
    assert not is_working_day(date(2028, 1, 3))
    # An official year: no provisional flag; National Day week inside the 20 days (issue 16's example).
    assert working_days_within(date(2026, 9, 25), 20) == (10, False)
