"""Issue 22: the evaluation service's real answers have the shapes /openapi.json documents for them
(services/evaluation/schemas.py), over SQLite through its router."""

from datetime import UTC, datetime

from services.evaluation.ledger.history import GENESIS, HISTORY_T, version_row
from services.evaluation.models import LedgerCheckpoint
from services.evaluation.schemas import (
    AccessRequestOut,
    Archive,
    AuditLog,
    Catalogue,
    Checkpoint,
    RecordList,
    RecordWithHistory,
)
from tests.unit.test_http_routers import (  # noqa: F401 - fixtures
    FINANCE,
    SUPERVISOR,
    a_record,
    evaluation,
    insert,
    settings,
)

CHECKPOINTS_T = LedgerCheckpoint.__table__  # type: ignore[attr-defined]


async def test_the_evaluation_answers_have_their_documented_shapes(evaluation) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, api = evaluation
    record = await a_record(engine)
    await insert(
        engine, HISTORY_T, version_row(record, change="created", actor="t", now=datetime.now(UTC), prev_hash=GENESIS)
    )
    one = RecordWithHistory.model_validate((await api.get(f"/v1/records/{record['id']}", headers=FINANCE)).json())
    assert one.history[0].change == "created" and one.evidence_access == "approval_required"
    params = {"subject_type": record["subject_type"], "subject_id": record["subject_id"]}
    assert RecordList.model_validate((await api.get("/v1/records", params=params, headers=FINANCE)).json()).count == 1
    path = f"/v1/archive/{record['subject_type']}/{record['subject_id']}"
    assert Archive.model_validate((await api.get(path, headers=FINANCE)).json()).records[0].entries
    assert Catalogue.model_validate((await api.get("/v1/catalogue")).json()).count > 0
    asked = await api.post(
        f"/v1/records/{record['id']}/access-requests", json={"purpose": "复核举报材料"}, headers=FINANCE
    )
    assert asked.status_code == 201, asked.text
    request = AccessRequestOut.model_validate(asked.json())
    approved = await api.post(f"/v1/access-requests/{request.id}/approve", headers=SUPERVISOR)
    assert AccessRequestOut.model_validate(approved.json()).expires_at
    assert AuditLog.model_validate((await api.get("/v1/audit", headers=SUPERVISOR)).json()).entries
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    row = {"tree_size": 1, "root_hash": "01" * 32, "timestamp": at, "key_id": "k", "signature": "s", "frontier": []}
    await insert(engine, CHECKPOINTS_T, row)
    assert Checkpoint.model_validate((await api.get("/v1/ledger/checkpoints/latest")).json()).tree_size == 1
