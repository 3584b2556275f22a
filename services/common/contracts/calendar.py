"""`credit.calendar` (added): the official holiday arrangement of a year, installed at run time, so
every process counting working days follows it without a restart."""

from services.common.contracts.base import OutboundData, contract
from services.common.topics import CALENDAR


class CalendarInstalled(OutboundData):
    year: int
    holidays: list[str]
    workdays: list[str]
    source: str
    installed_by: str | None = None
    installed_at: str | None = None


CALENDAR_INSTALLED = contract(
    "calendar.installed.v1",
    CALENDAR,
    CalendarInstalled,
    "outbound",
    "A year's official holiday arrangement was installed (read back by casework).",
)

CONTRACTS = (CALENDAR_INSTALLED,)
