"""Issue 21 (6): on the session's stack, after every other connected test of this tier has recorded,
appealed, corrected, repaired and expired records through the real services, what they serve —
every current record row and every public copy — is what the ledger derives. (Named to run last.)"""

import httpx
import pytest

from services.evaluation.ledger_verify import verify
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
