"""Signed checkpoints are published on a schedule to credit.notices and served over HTTP, with
inclusion proofs of a record version and consistency proofs between two checkpoints."""

import httpx
import pytest

from services.common.merkle import verify_consistency, verify_inclusion
from services.common.topics import NOTICES, event_type
from services.evaluation.ledger.checkpoints import verify_checkpoint
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, report_data
from tests.support.kafka import collect
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
PURCHASER = bearer("purchaser", PURCHASER_ID, "410322")


async def _latest(api: httpx.AsyncClient) -> dict:
    r = await api.get("/v1/ledger/checkpoints/latest")
    return r.json() if r.status_code == 200 else {"tree_size": 0}


async def test_checkpoints_and_proofs(stack: Stack, api: httpx.AsyncClient) -> None:
    first_record = (await api.post("/v1/reports", json=report_data(), headers=PURCHASER)).json()["record_id"]
    first = await eventually(lambda: _latest(api), until=lambda c: c["tree_size"] >= 1, timeout=30)
    assert verify_checkpoint(first, first["public_key"])

    # The same head went out on credit.notices: a copy outside the database.
    published = await collect(
        stack.bootstrap,
        NOTICES,
        lambda kept: len(kept) >= 1,
        match=lambda e: (
            e["type"] == event_type("ledger.checkpoint.published.v1") and e["data"]["tree_size"] == first["tree_size"]
        ),
    )
    assert published[0]["data"]["root_hash"] == first["root_hash"]

    finance = bearer("finance_officer", "410300", "410300")
    subject = (await api.get(f"/v1/records/{first_record}", headers=finance)).json()
    (await api.post("/v1/reports", json=report_data(), headers=PURCHASER)).raise_for_status()
    second = await eventually(lambda: _latest(api), until=lambda c: c["tree_size"] > first["tree_size"], timeout=30)

    proof = (
        await api.get(
            "/v1/ledger/proofs/inclusion",
            params={"record_id": first_record, "version": 1, "tree_size": second["tree_size"]},
            headers=finance,
        )
    ).json()
    assert verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        second["tree_size"],
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(second["root_hash"]),
    )
    assert subject["history"][0]["hash"] in proof["entry"]

    consistency = (
        await api.get(
            "/v1/ledger/proofs/consistency", params={"first": first["tree_size"], "second": second["tree_size"]}
        )
    ).json()
    assert verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in consistency["proof"]],
    )
    # Proofs only against published heads, and a record's proof only for finance or its subject.
    assert (await api.get("/v1/ledger/proofs/consistency", params={"first": 1, "second": 10**9})).status_code == 404
    outsider = bearer("purchaser", PURCHASER_ID, "410322")
    r = await api.get(
        "/v1/ledger/proofs/inclusion",
        params={"record_id": first_record, "version": 1, "tree_size": second["tree_size"]},
        headers=outsider,
    )
    assert r.status_code == 404
