"""Issue 16 point 5 (国办发〔2020〕49号 (八)): once the officer has made a determination the subject
must be told of before it is listed, the subject's integrity archive shows it — the reasons, the
basis and until when a statement may be filed — and never the report's evidence; applying the
determination afterwards (confirm, window passed, withdraw) takes it out of the archive."""

from datetime import UTC, datetime

from services.evaluation.models import DeterminationTask
from services.evaluation.records.determinations import apply_determination, note_intended
from tests.unit.test_http_routers import FINANCE, SUBJECT, SUPPLIER, evaluation, insert, settings  # noqa: F401
from workflows.record_inputs import DeterminationApplied, DeterminationIntended

REQUESTS_T = DeterminationTask.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)
DUE = datetime(2026, 12, 12, 8, tzinfo=UTC)


def intended(request_id: str, decision: str = "determine") -> DeterminationApplied:
    return DeterminationApplied(
        request_id=request_id,
        decision=decision,
        reason="经调查属实",
        fields={"determination": {"decision_no": "洛财购处〔2026〕7号", "legal_basis": "政府采购法第七十七条"}},
        decided_by="officer-a",
        decided_by_org="410300",
        decided_at=NOW,
    )


async def a_request(engine, request_id: str = "task-1") -> str:  # type: ignore[no-untyped-def]
    row = {
        "id": request_id,
        "kind": "determination",
        "region": "410322",
        "state": "open",
        "subject_key": f"supplier:{SUPPLIER}",
        "behaviour_code": "SUP-S-03",
        "report": {"evidence": [{"uri": "https://evidence.example.invalid/secret.pdf"}], "subject": {"id": SUPPLIER}},
        "created_at": NOW,
        "source": "urn:test",
        "source_event_id": request_id,
    }
    await insert(engine, REQUESTS_T, row)
    return request_id


async def test_point5_the_archive_shows_the_intended_determination_until_it_is_applied(evaluation) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, api = evaluation
    request_id = await a_request(engine)
    archive = f"/v1/archive/supplier/{SUPPLIER}"
    assert (await api.get(archive, headers=SUBJECT)).json()["intended_determinations"] == []

    assert await note_intended(engine, DeterminationIntended(intended=intended(request_id), statement_due=DUE))
    body = (await api.get(archive, headers=SUBJECT)).json()
    (shown,) = body["intended_determinations"]
    assert shown == {
        "request_id": request_id,
        "region": "410322",
        "behaviour_code": "SUP-S-03",
        "reason": "经调查属实",
        "determination": {"decision_no": "洛财购处〔2026〕7号", "legal_basis": "政府采购法第七十七条"},
        "legal_basis": "政府采购法第七十七条",
        "decided_at": "2026-12-07T08:00:00Z",
        "statement_due": "2026-12-12T08:00:00Z",
    }
    assert "evidence" not in str(body)  # the report's evidence is never in the archive
    assert (await api.get(archive, headers=FINANCE)).json()["intended_determinations"] == [shown]

    # Withdrawn after the statement: out of the archive, nothing recorded; noting again changes nothing.
    result = await apply_determination(engine, intended(request_id, "withdraw"), now=NOW)
    assert result.applied and result.record_id is None
    assert (await api.get(archive, headers=SUBJECT)).json()["intended_determinations"] == []
    assert not await note_intended(engine, DeterminationIntended(intended=intended(request_id)))
