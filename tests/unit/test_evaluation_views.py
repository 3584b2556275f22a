"""How records and their history are shown over HTTP (services/evaluation/records/representation.py): evidence
(photos, recordings, joint signatures) only to finance departments, in the record and in every
version of its history."""

from datetime import UTC, date, datetime

from services.evaluation.ledger.history import GENESIS, version_row
from services.evaluation.records.representation import history_view, record_view

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
EVIDENCE = [{"kind": "photo", "uri": "s3://evidence/rec-1/1.jpg", "sha256": "ab" * 32}]


def stored_row() -> dict:
    return {
        "id": "rec-1",
        "subject_key": "supplier:91411081MA9GH1EF5N",
        "subject_type": "supplier",
        "subject_id": "91411081MA9GH1EF5N",
        "subject_name": "禹州某某科技有限公司",
        "behaviour_code": "SUP-G-01",
        "severity": "general",
        "region": "410322",
        "reporter_type": "purchaser",
        "reporter_id": "12410300MB0000001X",
        "reporter_name": "报告单位",
        "project": {"code": "LYCG-2026-00001", "name": "办公设备采购项目"},
        "occurred_on": date(2026, 11, 19),
        "recorded_on": date(2026, 11, 22),
        "recorded_at": NOW,
        "valid_until": date(2027, 11, 22),
        "status": "in_force",
        "version": 1,
        "description": "现场照片两张",
        "evidence": EVIDENCE,
        "determination": None,
        "policy_version": "luoyang-2021",
        "source": "urn:eproc:luoyang",
        "source_event_id": "e-1",
    }


def stored_version() -> dict:
    # As services/evaluation/ledger/history.py stores it: the snapshot holds every field, evidence too.
    v = version_row(stored_row(), change="created", actor="urn:eproc:luoyang", now=NOW, prev_hash=GENESIS)
    assert v["snapshot"]["evidence"] == EVIDENCE
    return v


def test_record_without_evidence_shows_only_its_count() -> None:
    view = record_view(stored_row(), with_evidence=False)
    assert "evidence" not in view
    assert view["evidence_count"] == 1
    assert view["description"] == "现场照片两张"
    assert view["recorded_at"] == NOW.isoformat()


def test_record_with_evidence() -> None:
    assert record_view(stored_row(), with_evidence=True)["evidence"] == EVIDENCE


def test_history_without_evidence_has_none_in_its_snapshot() -> None:
    view = history_view(stored_version(), with_evidence=False)
    assert "evidence" not in view["snapshot"]
    assert "s3://evidence" not in str(view)
    # Everything else of the version is shown, so the chain can still be followed.
    v = stored_version()
    assert view == {
        "version": 1,
        "change": "created",
        "at": NOW.isoformat(),
        "actor": "urn:eproc:luoyang",
        "prev_hash": GENESIS,
        "hash": v["hash"],
        "snapshot": {k: x for k, x in v["snapshot"].items() if k != "evidence"},
    }


def test_history_with_evidence_keeps_it() -> None:
    assert history_view(stored_version(), with_evidence=True)["snapshot"]["evidence"] == EVIDENCE


def test_history_view_does_not_alter_the_stored_version() -> None:
    v = stored_version()
    history_view(v, with_evidence=False)
    assert v["snapshot"]["evidence"] == EVIDENCE
