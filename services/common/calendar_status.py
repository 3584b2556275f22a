"""Warn before it bites (issue 12): whether this year and next are counted on an official
arrangement, and from 1 November a warning when next year still has none (the State Council
usually publishes it in late October or November). Read by casework's /healthz, its console banner
(supervisors, administrators) and deploy/run.sh; exported as the gauge
`credit_calendar_provisional{year}` (1 while the year is provisional)."""

import sys
from datetime import UTC, date, datetime

from services.common.lawdates import local_date
from services.common.metrics import CALENDAR_PROVISIONAL
from services.common.workdays import RECKONER, CalendarUnavailable, Reckoner

WARN_FROM_MONTH = 11  # 1 November


def _year(reckoner: Reckoner, year: int) -> dict:
    try:
        arrangement = reckoner.arrangement(year)
    except CalendarUnavailable:
        return {"year": year, "status": "unavailable", "source": None}
    CALENDAR_PROVISIONAL.labels(year=str(year)).set(1 if arrangement.provisional else 0)
    return {"year": year, "status": arrangement.status, "source": arrangement.source}


def calendar_status(today: date | None = None, reckoner: Reckoner = RECKONER) -> dict:
    today = today or local_date(datetime.now(UTC))
    this, following = _year(reckoner, today.year), _year(reckoner, today.year + 1)
    warnings = []
    if this["status"] != "official":
        warnings.append(
            f"{today.year} has no official holiday arrangement: due dates are provisional; "
            f"install it with PUT /v1/calendar/{today.year}"
        )
    if today.month >= WARN_FROM_MONTH and following["status"] != "official":
        warnings.append(
            f"{today.year + 1} has no official holiday arrangement yet: due dates in {today.year + 1} are "
            f"provisional; install the State Council's notice with PUT /v1/calendar/{today.year + 1}"
        )
    return {"this_year": this, "next_year": following, "warnings": warnings}


def main() -> int:
    """deploy/run.sh: a banner on stderr when a warning applies (always exit 0: it warns, never stops)."""
    status = calendar_status()
    for warning in status["warnings"]:
        sys.stderr.write(
            f"\n*** WORKING DAYS: {warning}.\n*** (Counted from chinese-calendar and calendar files only; "
            f"an arrangement already installed at run time shows as official at casework's /healthz.)\n\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
