"""Working days of the Chinese calendar (STYLE: one calendar module), with 调休: the State
Council's holiday arrangement makes some weekdays holidays and some weekend days working days.

Where a year's arrangement comes from, first found wins:
1. installed at run time (`PUT /v1/calendar/{year}`, announced on `credit.calendar`; the casework
   service's follower calls `RECKONER.install`), the newest version;
2. a data file `calendars/<year>.json` in CREDIT_CALENDAR_DIR, then beside this module
   (`{"year", "source", "holidays": [...], "workdays": [...]}`, ISO dates): the offline way in;
3. `chinese-calendar`'s official data (2004 through its last year);
4. for a later year, the provisional arrangement computed from the law (services/common/arrangements.py),
   marked provisional wherever it is used: the work never stops for a year not announced yet.
A year before the library's range (2004) is an explicit `CalendarUnavailable`."""

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
from chinese_calendar import constants as library

from services.common.arrangements import Arrangement, provisional

CALENDAR_DIR = Path(__file__).parent / "calendars"
LIBRARY_YEARS = range(min(d.year for d in library.holidays), max(d.year for d in library.holidays) + 1)
LIBRARY_SOURCE = f"chinese-calendar {chinese_calendar.__version__} (official arrangements)"


class CalendarUnavailable(LookupError):
    """No holiday arrangement can be known for the year (before the library's first year)."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no holiday arrangement for {year}: working days cannot be counted before {LIBRARY_YEARS.start}"
        )
        self.year = year


@lru_cache(maxsize=64)
def _from_file(year: int, directory: str | None) -> Arrangement | None:
    path = (Path(directory) if directory else CALENDAR_DIR) / f"{year}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("year") != year:
        raise ValueError(f"{path} holds the arrangement of {data.get('year')}, not {year}")
    return Arrangement(
        year=year,
        holidays=frozenset(date.fromisoformat(d) for d in data["holidays"]),
        workdays=frozenset(date.fromisoformat(d) for d in data["workdays"]),
        source=f"file {path.name}: {data.get('source', '')}",
        status="official",
    )


@lru_cache(maxsize=64)
def _from_library(year: int) -> Arrangement:
    return Arrangement(
        year=year,
        holidays=frozenset(d for d in library.holidays if d.year == year),
        workdays=frozenset(d for d in library.workdays if d.year == year),
        source=LIBRARY_SOURCE,
        status="official",
    )


@dataclass(frozen=True)
class Reckoning:
    """A day counted in working days, and whether a provisional year was counted through."""

    day: date
    provisional: bool


class Reckoner:
    """Knows which years are official and which provisional; counts working days across them."""

    def __init__(self) -> None:
        self._installed: dict[int, Arrangement] = {}

    def install(self, arrangement: Arrangement) -> bool:
        """Use an arrangement installed at run time; True when it is newer than the one held (a
        replayed or older announcement changes nothing)."""
        held = self._installed.get(arrangement.year)
        if held is not None and (held.version or 0) >= (arrangement.version or 0):
            return False
        self._installed[arrangement.year] = arrangement
        return True

    def installed_years(self) -> list[int]:
        return sorted(self._installed)

    def arrangement(self, year: int) -> Arrangement:
        if year in self._installed:
            return self._installed[year]
        extra = os.environ.get("CREDIT_CALENDAR_DIR")
        for directory in [extra, None] if extra else [None]:
            found = _from_file(year, directory)
            if found is not None:
                return found
        if year in LIBRARY_YEARS:
            return _from_library(year)
        if year < LIBRARY_YEARS.start:
            raise CalendarUnavailable(year)
        return provisional(year)

    def is_provisional(self, year: int) -> bool:
        return self.arrangement(year).provisional

    def any_provisional(self, first: date, last: date) -> bool:
        """Whether counting from `first` to `last` (either order) passes through a provisional year."""
        lo, hi = sorted((first.year, last.year))
        return any(self.is_provisional(y) for y in range(lo, hi + 1))

    def is_working_day(self, day: date) -> bool:
        return self.arrangement(day.year).is_working_day(day)

    def add_working_days(self, start: date, n: int) -> Reckoning:
        """The n-th working day after `start` (the start day itself is not counted, as the Civil
        Code counts periods, Art. 201). n = 0 gives `start` itself."""
        if n < 0:
            raise ValueError("n must not be negative; use previous_working_day to go back")
        day = start
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return Reckoning(day, self.any_provisional(start, day))

    def working_days_between(self, after: date, through: date) -> int:
        """How many working days fall in (after, through]: 0 when `through` is not later."""
        span = (through - after).days
        return sum(self.is_working_day(after + timedelta(days=k)) for k in range(1, span + 1))

    def last_working_day_by(self, day: date) -> Reckoning:
        """The last working day on or before `day`: where a deadline the law sets in calendar days
        (e.g. an objection's 20 days, 征信业管理条例 Art. 25) falls for work counted in working days."""
        return self.previous_working_day(day + timedelta(days=1))

    def previous_working_day(self, day: date, n: int = 1) -> Reckoning:
        """The n-th working day before `day`."""
        start = day
        for _ in range(n):
            day -= timedelta(days=1)
            while not self.is_working_day(day):
                day -= timedelta(days=1)
        return Reckoning(day, self.any_provisional(day, start))


# The one reckoner of a process: the casework service's calendar follower installs into it.
RECKONER = Reckoner()


def is_working_day(day: date) -> bool:
    """True on a working day (including a weekend day made a working day by 调休)."""
    return RECKONER.is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    return RECKONER.add_working_days(start, n).day


def previous_working_day(day: date, n: int = 1) -> date:
    return RECKONER.previous_working_day(day, n).day


def working_days_within(start: date, calendar_days: int) -> tuple[int, bool]:
    """How many working days fall in (start, start + calendar_days]: a clock in calendar days (e.g.
    征信业管理条例 Art. 25, 20 days) as a number of working days for a task planned in working days,
    so the task's due date is the last working day on or before the legal deadline. Counted with the
    reckoner (installed, file, official or provisional arrangement, in that order); the flag is True
    when a provisional year was counted through (say so). A year before the calendar's range raises
    `CalendarUnavailable`, as every other count does."""
    end = start + timedelta(days=calendar_days)
    return RECKONER.working_days_between(start, end), RECKONER.any_provisional(start, end)
