"""Holiday arrangements of a year: the statutory days of 《全国年节及纪念日放假办法》 and the
provisional arrangement computed from them for a year the State Council has not announced yet.

The statutory days are the law of each period (the State Council's order that fixed them, in force
from its date), so past years can be checked against the official arrangements `chinese-calendar`
ships. Lunar dates (除夕, 正月初一, 五月初五, 八月十五) and the 清明 solar term come from `tyme4py`
(pinned; pure Python, maintained, computes from astronomical algorithms rather than a hand-typed
table) — never from code of our own.

The provisional arrangement is only what the law itself fixes: the statutory days, and for a
statutory day on a Saturday or Sunday a make-up day (补假) on the next working day (办法 Art. 6:
"全体公民放假的假日，如果适逢星期六、星期日，应当在工作日补假"). It adds no bridge days (调休): those
are the State Council's yearly choice, and inventing them would be a guess. Without bridge days a
provisional year has no more days off than the official one will (the official one only adds days
off, and weekend working days made up elsewhere), so a due date computed on it usually moves later,
not earlier, once the official arrangement arrives; the never-earlier rule covers the rest."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarDay, SolarTerm

Festival = Literal["元旦", "春节", "清明", "劳动节", "端午", "中秋", "国庆"]


@dataclass(frozen=True)
class Law:
    """The statutory days of one version of the 办法, from the day it took effect."""

    effective: date
    source: str
    spring_festival: tuple[int, ...]  # lunar days of the 1st month; 0 is 除夕 (the last day of the year before)
    labour_day: tuple[int, ...]  # days of May
    traditional: bool  # 清明, 端午 and 中秋 are statutory


# Newest first. Each entry is the order's own wording of 第二条 (full-population holidays).
LAWS: tuple[Law, ...] = (
    Law(date(2025, 1, 1), "国务院令第795号 (2024-11-10), in force 2025-01-01", (0, 1, 2, 3), (1, 2), True),
    Law(date(2014, 1, 1), "国务院令第644号 (2013-12-11), in force 2014-01-01", (1, 2, 3), (1,), True),
    Law(date(2008, 1, 1), "国务院令第513号 (2007-12-14), in force 2008-01-01", (0, 1, 2), (1,), True),
    Law(date(1999, 10, 1), "国务院令第270号 (1999-09-18), in force 1999-10-01", (1, 2, 3), (1, 2, 3), False),
)


def law_of(year: int) -> Law:
    for law in LAWS:
        if law.effective <= date(year, 1, 1):
            return law
    raise LookupError(f"no statutory holidays known before {LAWS[-1].effective.year}")


def _solar(d: SolarDay) -> date:
    return date(d.get_year(), d.get_month(), d.get_day())


def _lunar(year: int, month: int, day: int) -> date:
    return _solar(LunarDay.from_ymd(year, month, day).get_solar_day())


@lru_cache(maxsize=128)
def statutory_days(year: int) -> dict[date, Festival]:
    """The days off the law itself fixes in `year` (without 补假 and without 调休)."""
    law = law_of(year)
    days: dict[date, Festival] = {date(year, 1, 1): "元旦"}
    new_year = _lunar(year, 1, 1)
    for n in law.spring_festival:
        days[new_year + timedelta(days=n - 1)] = "春节"
    for n in law.labour_day:
        days[date(year, 5, n)] = "劳动节"
    if law.traditional:
        days[_solar(SolarTerm.from_name(year, "清明").get_solar_day())] = "清明"
        days[_lunar(year, 5, 5)] = "端午"
        days.setdefault(_lunar(year, 8, 15), "中秋")
    for n in (1, 2, 3):
        # 中秋 on 1-3 October (2009, 2020, 2028) is one day off for two festivals by the law's
        # letter; the State Council has added a day then, but that is its choice, not the law's.
        days[date(year, 10, n)] = "国庆"
    return dict(sorted(days.items()))


@dataclass(frozen=True)
class Arrangement:
    """The days off and the weekend working days of one year, and where they come from."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]  # Saturdays and Sundays made working days (调休)
    source: str
    status: Literal["official", "provisional"]
    version: int | None = None  # the install's version, for an arrangement installed at run time
    notice: dict | None = None  # {number, date} of the State Council's notice, when installed

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "status": self.status,
            "source": self.source,
            "version": self.version,
            "notice": self.notice,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }


@lru_cache(maxsize=64)
def provisional(year: int) -> Arrangement:
    """The statutory days of `year` and their 补假, nothing else."""
    days = statutory_days(year)
    off = set(days)
    for day in sorted(days):
        if day.weekday() >= 5:
            make_up = day + timedelta(days=1)
            while make_up.weekday() >= 5 or make_up in off:
                make_up += timedelta(days=1)
            off.add(make_up)
    return Arrangement(
        year=year,
        holidays=frozenset(off),
        workdays=frozenset(),
        source=f"provisional: statutory days of {law_of(year).source} with 补假, no 调休; "
        "replaced when the State Council's arrangement is installed",
        status="provisional",
    )
