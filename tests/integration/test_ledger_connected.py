"""The ledger of record versions (002 (十二)): one leaf per version, in commit order, and the
database itself refuses to change or remove a leaf."""

import asyncpg
import httpx
import pytest

from services.evaluation.ledger.hashes import leaf_hash_hex, ledger_entry
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, report_data

pytestmark = pytest.mark.connected


@pytest.fixture
async def db(stack: Stack):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def test_each_record_version_is_a_leaf_over_its_history_row(api: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    r = await api.post("/v1/reports", json=report_data(), headers=bearer("purchaser", PURCHASER_ID, "410322"))
    record_id = r.json()["record_id"]
    leaf = await db.fetchrow(
        "SELECT seq, entry, leaf_hash, change FROM evaluation_ledger WHERE record_id = $1", record_id
    )
    version = await db.fetchrow(
        "SELECT record_id, version, change, hash FROM evaluation_record_history WHERE record_id = $1", record_id
    )
    entry = ledger_entry(dict(version))
    assert leaf["entry"] == entry.decode() and leaf["leaf_hash"] == leaf_hash_hex(entry) and leaf["change"] == "created"
    # Leaves are numbered without gaps in commit order (the writer lock is held to the commit).
    seqs = [row["seq"] for row in await db.fetch("SELECT seq FROM evaluation_ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evaluation_ledger SET leaf_hash = repeat('0', 64) WHERE seq = 1",
        "DELETE FROM evaluation_ledger WHERE seq = 1",
        "TRUNCATE evaluation_ledger",
    ],
)
async def test_the_database_refuses_to_change_the_ledger(api: httpx.AsyncClient, db, statement: str) -> None:  # type: ignore[no-untyped-def]
    await api.post("/v1/reports", json=report_data(), headers=bearer("purchaser", PURCHASER_ID, "410322"))
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
        await db.execute(statement)
