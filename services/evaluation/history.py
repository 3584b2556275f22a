"""Appending versions to records' history, each chained to the one before it."""

from datetime import datetime

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.sql import insert_rows
from services.evaluation.ledger import GENESIS, chain_hash
from services.evaluation.models import RecordVersion

HISTORY_T = RecordVersion.__table__  # type: ignore[attr-defined]


def snapshot_of(row: dict) -> dict:
    """The version as hashed into the chain: every stored field, JSON-safe."""
    return orjson.loads(orjson.dumps(row, default=str))


def version_row(row: dict, *, change: str, actor: str, now: datetime, prev_hash: str) -> dict:
    snapshot = snapshot_of(row)
    return {
        "record_id": row["id"],
        "version": row["version"],
        "change": change,
        "at": now,
        "actor": actor,
        "snapshot": snapshot,
        "prev_hash": prev_hash,
        "hash": chain_hash(prev_hash, snapshot),
    }


async def append_versions(conn: AsyncConnection, rows: list[dict], *, change: str, actor: str, now: datetime) -> None:
    """Append the current version of each row after the record's last stored version."""
    ids = [r["id"] for r in rows]
    last = (
        select(HISTORY_T.c.record_id, func.max(HISTORY_T.c.version).label("v"))
        .where(HISTORY_T.c.record_id.in_(ids))
        .group_by(HISTORY_T.c.record_id)
        .subquery()
    )
    heads = {
        r.record_id: r.hash
        for r in await conn.execute(
            select(HISTORY_T.c.record_id, HISTORY_T.c.hash).join(
                last, (HISTORY_T.c.record_id == last.c.record_id) & (HISTORY_T.c.version == last.c.v)
            )
        )
    }
    await insert_rows(
        conn,
        HISTORY_T,
        [version_row(r, change=change, actor=actor, now=now, prev_hash=heads.get(r["id"], GENESIS)) for r in rows],
    )
