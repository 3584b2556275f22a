"""Dates the law counts, in Asia/Shanghai, from one place (STYLE: one calendar module).

Periods follow the Civil Code Art. 201–202: the start day is not counted and a period in months
or years ends on the corresponding day of the last month, so a general record made on
2026-11-22 is in force through 2027-11-22 and expires from 2027-11-23."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no legal date")
    return moment.astimezone(SHANGHAI).date()


def today(now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC))


@lru_cache(maxsize=4096)
def add_months(day: date, months: int) -> date:
    """The corresponding day `months` later (month ends clamp: 08-31 + 6 months = 02-28/29)."""
    return day + relativedelta(months=months)


def start_of_day(day: date) -> datetime:
    """00:00 Asia/Shanghai of `day`, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def expiry_moment(valid_until: date) -> datetime:
    """A record in force through `valid_until` stops being in force at the next local midnight."""
    return start_of_day(valid_until + timedelta(days=1))


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601 of a date or a moment, None for None. A naive moment is UTC: that is how SQLite hands
    back the timestamps the services store (PostgreSQL returns them aware)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if value is not None else None
