"""A year of figures for three purchasers of Shenyang (good, average, poor) and three agencies of
Xuchang, as the evaluations service stores them from the watch's rankings and the records, with the
officer's entries — shared by the workflow test and the connected test. Expected results are
worked out by hand here (the scoring's worked examples, tests/unit/test_evaluations_scoring.py)."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.evaluations.figures import store_figures
from services.evaluations.scoring import OfficerEntry
from services.evaluations.store import add_entry

PERIOD = "2026"
AT = datetime(2026, 12, 31, 8, 0, tzinfo=UTC)
GOOD, AVERAGE, POOR = "12210100MB0000011A", "12210100MB0000012A", "12210100MB0000013A"
# watch rates (contract_signing, contract_publication), records in force, reports made, officer points
# (internal control, payment, policy functions, credit checks, bonus); totals by hand:
PURCHASERS = {
    # 15 + (10 + 10) + 15 + 10 + 15 + (5 + 10) + 8 = 98: 优秀
    GOOD: ((1.0, 1.0), 0, 1, (15, 10, 10, 10, 8), 98, "优秀"),
    # 12 + (9 + 8) + 10 + 8 + 15 + (5 + 4) + 3 = 74: 合格
    AVERAGE: ((0.9, 1.0), 1, 2, (12, 8, 8, 4, 3), 74, "合格"),
    # 5 + (5 + 4) + 0 + 3 + 7.5 + (0 + 3) + 0 = 27.5: 较差, interview
    POOR: ((0.5, 0.5), 4, 0, (5, 4, 3, 3, 0), 27.5, "较差"),
}
OFFICER_INDICATORS = (
    "internal_control.findings",
    "efficiency.payment_on_time",
    "policy_functions.officer",
    "credit_duties.checks",
    "bonus.officer",
)
A_GOOD, A_AVERAGE, A_POOR = "91411000MA0000021X", "91411000MA0000022X", "91411000MA0000023X"
# general, serious records in force, on-time rate; points by hand:
AGENCIES = {
    A_GOOD: (0, 0, 0.98, 100, "A"),  # nothing deducted
    A_AVERAGE: (3, 1, 0.85, 79, "B"),  # 100 − 6 − 10 − 0.5 × 10
    A_POOR: (5, 3, 0.60, 42.5, "D"),  # 100 − 2 × 5 − 10 × 3 − 0.5 × (95 − 60) = 100 − 10 − 30 − 17.5
}


async def figures(
    conn: AsyncConnection, kind: str, subject: str, region: str, source: str, values: dict[str, float]
) -> None:
    ref = f"watch GET /v1/rankings?kind={kind}&period={PERIOD}" if source == "watch" else "credit.records replica"
    await store_figures(conn, kind=kind, subject_id=subject, region=region, period=PERIOD, figures=values,
                        source=source, source_ref=ref, at=AT)  # fmt: skip


async def agency_year(
    conn: AsyncConnection, subject: str, region: str, general: int, serious: int, rate: float
) -> None:
    await figures(
        conn, "agency", subject, region, "records", {"general_in_force": general, "serious_in_force": serious}
    )
    await figures(conn, "agency", subject, region, "watch", {"on_time_rate": rate})


async def load_year(conn: AsyncConnection, *, region: str = "210102", agency_region: str = "411002") -> None:
    for subject, (rates, records, reports, officer, _, _) in PURCHASERS.items():
        signing, publication = rates
        ranking = {"contract_signing_on_time_rate": signing, "contract_publication_on_time_rate": publication}
        await figures(conn, "purchaser", subject, region, "watch", ranking)
        await figures(conn, "purchaser", subject, region, "records",
                      {"records_in_force": records, "reports_made": reports})  # fmt: skip
        codes = OFFICER_INDICATORS
        for code, points in zip(codes, officer, strict=True):
            entry = OfficerEntry(points, f"{PERIOD} 年度检查结论", "officer-sy")
            await add_entry(conn, kind="purchaser", subject_id=subject, period=PERIOD, region=region,
                            indicator=code, entry=entry, at=AT)  # fmt: skip
    for subject, (general, serious, rate, _, _) in AGENCIES.items():
        await agency_year(conn, subject, agency_region, general, serious, rate)
