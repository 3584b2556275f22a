"""TEST FIXTURE arrangements of a year (NOT OFFICIAL DATA): the law's holidays plus `off`, with
`work` as 调休 working days, announced `official` at `version`."""

from datetime import date

from services.common.arrangements import Arrangement, provisional


def fixture_arrangement(
    version: int, *, off: set[date] = frozenset(), work: set[date] = frozenset(), year: int = 2027
) -> Arrangement:
    return Arrangement(
        year=year,
        holidays=frozenset(provisional(year).holidays | off),
        workdays=frozenset(work),
        source="TEST FIXTURE, NOT OFFICIAL DATA",
        status="official",
        version=version,
    )
