"""Figures from their sources into `evaluations_figure`, each with where it was read.

The watch service (issue 13) answers `GET /v1/rankings?kind=&region=&period=` with, per party, an
overall `on_time_rate` and `stages.<stage>.on_time_rate` (contract_signing, contract_publication,
payment, …): `watch_figures` turns one ranking item into the figure names the policies score
(`<stage>_on_time_rate`, `on_time_rate`). A rate the watch could not compute (no clock due) is left
out, so the evaluation reports it missing instead of scoring it 0."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.sql import upsert_rows
from services.evaluations.models import FIGURES


def watch_figures(item: Mapping) -> dict[str, float]:
    figures: dict[str, float] = {}
    if item.get("on_time_rate") is not None:
        figures["on_time_rate"] = float(item["on_time_rate"])
    for stage, numbers in (item.get("stages") or {}).items():
        if numbers.get("on_time_rate") is not None:
            figures[f"{stage}_on_time_rate"] = float(numbers["on_time_rate"])
    return figures


async def store_figures(
    conn: AsyncConnection,
    *,
    kind: str,
    subject_id: str,
    region: str,
    period: str,
    figures: Mapping[str, float],
    source: str,
    source_ref: str,
    at: datetime,
) -> None:
    """Keep the latest value of each figure (a re-read replaces it, with its new provenance)."""
    rows = [
        {
            "subject_kind": kind,
            "subject_id": subject_id,
            "period": period,
            "name": name,
            "region": region,
            "value": value,
            "source": source,
            "source_ref": source_ref,
            "fetched_at": at,
        }
        for name, value in figures.items()
    ]
    await upsert_rows(conn, FIGURES, rows, key=["subject_kind", "subject_id", "period", "name"])
