"""Issue 21 (6): on the session's stack, after every other connected test of this tier has recorded,
appealed, corrected, repaired and expired records through the real services, what they serve —
every current record row and every public copy — is what the ledger derives. (Named to run last.)"""

import httpx
import pytest

from services.evaluation.ledger.verify import verify
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, report_data

pytestmark = pytest.mark.connected


async def test_what_is_served_is_what_the_ledger_derives(stack: Stack, api: httpx.AsyncClient) -> None:
    r = await api.post("/v1/reports", json=report_data(), headers=bearer("purchaser", PURCHASER_ID, "410322"))
    assert r.status_code == 201
    report = await verify(stack.database_url, [], None)
    assert report.ok, report.problems[:5]
    assert report.checked_entries > 0


async def test_services_connect_as_their_own_roles(stack: Stack) -> None:
    """Issue 21 (6): not as the superuser that made the database."""
    import asyncpg

    conn = await asyncpg.connect(stack.database_url)
    try:
        users = {
            r["usename"]
            for r in await conn.fetch(
                "SELECT usename FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        }
    finally:
        await conn.close()
    assert {"credit_evaluation", "credit_publication", "credit_repair", "credit_appeal", "credit_casework"} <= users
    assert "postgres" not in users and "credit_owner" not in users
