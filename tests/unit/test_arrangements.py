"""The provisional calendar: the statutory days of 《全国年节及纪念日放假办法》 computed from the law of
each period, checked against chinese-calendar's official arrangements (2004-2026), tyme4py's lunar
dates against lunardate's table, and the 补假 rule on 2027-2030 (no official data: the rule alone)."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from chinese_calendar import constants as library
from lunardate import LunarDate

from services.common.arrangements import law_of, provisional, statutory_days
from services.common.workdays import LIBRARY_YEARS

PAST = range(2004, 2027)
# The two years the State Council placed a 补假 elsewhere than on the next working day: 端午 2012-06-23
# (Saturday) was made up on Friday 06-22; 中秋 2015-09-27 (Sunday) was folded into National Day.
MAKE_UP_ELSEWHERE = {date(2012, 6, 25), date(2015, 9, 28)}


def test_the_library_covers_the_years_checked_here() -> None:
    assert LIBRARY_YEARS.start == 2004 and LIBRARY_YEARS.stop - 1 >= 2026


@pytest.mark.parametrize("year", PAST)
def test_every_statutory_day_was_a_day_off_in_the_official_arrangement(year: int) -> None:
    days = statutory_days(year)
    assert [d for d in days if chinese_calendar.is_workday(d)] == []
    # The count is the law's of that year: 10 days (1999), 11 (2008, 2014), 13 (2025), less a
    # 中秋 that fell on National Day (2009-10-03, 2020-10-01).
    expected = {1999: 10, 2008: 11, 2014: 11, 2025: 13}[law_of(year).effective.year]
    assert len(days) == expected - (1 if year in (2009, 2020) else 0)


@pytest.mark.parametrize("year", PAST)
def test_every_make_up_day_of_the_rule_was_off_officially_but_two(year: int) -> None:
    computed = provisional(year).holidays - set(statutory_days(year))
    working = {d for d in computed if chinese_calendar.is_workday(d)}
    assert working == {d for d in MAKE_UP_ELSEWHERE if d.year == year}


def test_official_arrangements_added_bridge_days_every_year() -> None:
    """调休: days off beyond the law and its 补假, paid for with weekend working days. Every year
    2004-2026 has them, which is why a provisional year is replaced as soon as the notice is out."""
    bridge = {
        year: sorted(d for d in library.holidays if d.year == year and d not in provisional(year).holidays)
        for year in PAST
    }
    weekend_work = {year: sorted(d for d in library.workdays if d.year == year) for year in PAST}
    assert [y for y in PAST if not bridge[y]] == []
    assert [y for y in PAST if not weekend_work[y]] == []
    assert date(2026, 10, 6) in bridge[2026] and date(2026, 10, 10) in weekend_work[2026]


@pytest.mark.parametrize("year", range(2004, 2031))
def test_tyme4py_and_lunardate_agree_on_the_lunar_festivals(year: int) -> None:
    days = statutory_days(year)
    new_year = LunarDate(year, 1, 1).to_solar_date()
    spring = [new_year + timedelta(days=n - 1) for n in law_of(year).spring_festival]
    assert [d for d, n in days.items() if n == "春节"] == spring
    if law_of(year).traditional:
        assert [d for d, n in days.items() if n == "端午"] == [LunarDate(year, 5, 5).to_solar_date()]
        assert LunarDate(year, 8, 15).to_solar_date() in days  # named 国庆 when it falls on 1-3 October


def test_2025_law_spring_festival_is_new_years_eve_to_the_third() -> None:
    assert [d for d, n in statutory_days(2027).items() if n == "春节"] == [
        date(2027, 2, 5),
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
    ]
    assert [d for d, n in statutory_days(2027).items() if n == "劳动节"] == [date(2027, 5, 1), date(2027, 5, 2)]


@pytest.mark.parametrize(
    ("year", "make_up"),
    [
        # 春节 Sat 02-06 and Sun 02-07 -> Tue 02-09, Wed 02-10 (Mon 02-08 is 初三 itself);
        # 劳动节 Sat-Sun -> Mon-Tue; 国庆 Sat 10-02, Sun 10-03 -> Mon 10-04, Tue 10-05.
        (2027, ["2027-02-09", "2027-02-10", "2027-05-03", "2027-05-04", "2027-10-04", "2027-10-05"]),
        # 元旦 Sat -> Mon 01-03; 端午 Sun 05-28 -> Mon 05-29; 国庆 Sun 10-01 -> Wed 10-04 (Mon, Tue are 国庆).
        (2028, ["2028-01-03", "2028-05-29", "2028-10-04"]),
        # 端午 Sat 06-16 -> Mon 06-18; 中秋 Sat 09-22 -> Mon 09-24.
        (2029, ["2029-06-18", "2029-09-24"]),
        # 除夕 Sat 02-02, 初一 Sun 02-03 -> Wed 02-06, Thu 02-07 (Mon, Tue are 初二, 初三).
        (2030, ["2030-02-06", "2030-02-07"]),
    ],
)
def test_a_statutory_day_on_a_weekend_is_made_up_on_the_next_working_day(year: int, make_up: list[str]) -> None:
    arrangement = provisional(year)
    assert sorted(d.isoformat() for d in arrangement.holidays - set(statutory_days(year))) == make_up
    assert arrangement.workdays == frozenset()  # no 调休 invented
    assert arrangement.provisional and "provisional" in arrangement.source
