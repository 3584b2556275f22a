"""Appending versions to records' history, each chained to the one before it."""

from datetime import datetime

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.messaging import lock_writer
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.evaluation.ledger.hashes import GENESIS, chain_hash, leaf_hash_hex, ledger_entry
from services.evaluation.models import MESSAGING, LedgerEntry, RecordVersion

HISTORY_T = table_of(RecordVersion)
LEDGER_T = table_of(LedgerEntry)


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
    await store_versions(
        conn,
        [version_row(r, change=change, actor=actor, now=now, prev_hash=heads.get(r["id"], GENESIS)) for r in rows],
    )


async def store_versions(conn: AsyncConnection, versions: list[dict]) -> None:
    """Insert history rows and their ledger leaves. Leaves must be numbered in commit order (a
    checkpoint covers a prefix of them), so the ledger is written under the same writer lock as
    the outbox, held to the commit."""
    if not versions:
        return
    await insert_rows(conn, HISTORY_T, versions)
    await lock_writer(conn, MESSAGING.outbox)
    await insert_rows(conn, LEDGER_T, ledger_leaves(versions))


def ledger_leaves(versions: list[dict]) -> list[dict]:
    """The ledger rows of history rows (computed before the writer lock is taken: the intake
    hands them to `write_outbox`, which inserts them under the lock, right before the outbox)."""
    leaves = []
    for v in versions:
        entry = ledger_entry(v)
        leaves.append(
            {
                "record_id": v["record_id"],
                "version": v["version"],
                "change": v["change"],
                "entry": entry.decode(),
                "leaf_hash": leaf_hash_hex(entry),
            }
        )
    return leaves
