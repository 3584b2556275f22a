"""Working days of the Chinese calendar (STYLE: one calendar module), with 调休: the State
Council's holiday arrangement makes some weekdays holidays and some weekend days working days.

The data is `chinese-calendar`'s (official arrangements it ships, 2004 through its last year). An
arrangement published after that release can be added as data, `calendars/<year>.json`
(`{"year", "source", "holidays": [...], "workdays": [...]}`, ISO dates), or from the directory named
by CREDIT_CALENDAR_DIR, without a code change. A year for which neither has data is an explicit
`CalendarUnavailable`, never a guess from weekends alone."""

import json
import os
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar

CALENDAR_DIR = Path(__file__).parent / "calendars"


class CalendarUnavailable(LookupError):
    """No official holiday arrangement is known for the year."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no holiday arrangement for {year}: working days cannot be counted; add the State Council's "
            f"arrangement as calendars/{year}.json (or in CREDIT_CALENDAR_DIR) or upgrade chinese-calendar"
        )
        self.year = year


@lru_cache(maxsize=64)
def _supplement(year: int, directory: str | None) -> tuple[frozenset[date], frozenset[date]] | None:
    """(holidays, working days) of `year` from a data file, or None if there is none."""
    path = (Path(directory) if directory else CALENDAR_DIR) / f"{year}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("year") != year:
        raise ValueError(f"{path} holds the arrangement of {data.get('year')}, not {year}")
    holidays = frozenset(date.fromisoformat(d) for d in data["holidays"])
    workdays = frozenset(date.fromisoformat(d) for d in data["workdays"])
    return holidays, workdays


def _extra_dirs() -> list[str | None]:
    extra = os.environ.get("CREDIT_CALENDAR_DIR")
    return [extra, None] if extra else [None]


def is_working_day(day: date) -> bool:
    """True on a working day (including a weekend day made a working day by 调休)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        pass
    for directory in _extra_dirs():
        found = _supplement(day.year, directory)
        if found is not None:
            holidays, workdays = found
            if day in workdays:
                return True
            if day in holidays:
                return False
            return day.weekday() < 5
    raise CalendarUnavailable(day.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (the start day itself is not counted, as the Civil Code
    counts periods, Art. 201). n = 0 gives `start` itself."""
    if n < 0:
        raise ValueError("n must not be negative; use previous_working_day to go back")
    day = start
    for _ in range(n):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return day


def previous_working_day(day: date, n: int = 1) -> date:
    """The n-th working day before `day`."""
    for _ in range(n):
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    return day


def working_days_within(start: date, calendar_days: int) -> tuple[int, bool]:
    """How many working days fall in (start, start + calendar_days]: a clock in calendar days (e.g.
    征信业管理条例 Art. 25, 20 days) as a number of working days for a task planned in working days,
    so the task's due date is the last working day on or before the legal deadline. The flag is True
    when a year without calendar data was counted on weekdays only (provisional: say so)."""
    count, provisional = 0, False
    for offset in range(1, calendar_days + 1):
        day = start + timedelta(days=offset)
        try:
            working = is_working_day(day)
        except CalendarUnavailable:
            working, provisional = day.weekday() < 5, True
        count += working
    return count, provisional
