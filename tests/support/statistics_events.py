"""Events of the outbound topics as the statistics service receives them (unit, browser, connected
and benchmark use the same shapes)."""

from datetime import UTC, date, datetime
from typing import Any

from services.common.cloudevents import build_event, encode_structured, parse_kafka_message
from services.common.inbound import Inbound
from services.common.topics import TYPE_PREFIX


def record(
    record_id: str,
    *,
    version: int = 1,
    status: str = "in_force",
    region: str = "410322",
    severity: str = "general",
    subject_type: str = "supplier",
    subject_id: str = "91410300MA99000017",
    code: str = "SUP-G-01",
    recorded_on: date = date(2026, 3, 10),
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "version": version,
        "status": status,
        "subject": {"type": subject_type, "id": subject_id, "name": "洛阳某某科技有限公司"},
        "behaviour": {"code": code, "severity": severity},
        "severity": severity,
        "region": region,
        "recorded_on": recorded_on.isoformat(),
        "valid_until": date(recorded_on.year + 1, recorded_on.month, recorded_on.day).isoformat(),
    }


def task_created(
    task_id: str,
    *,
    kind: str = "appeal_review",
    region: str = "410322",
    opened_on: str = "2026-03-02",
    due_on: str = "2026-03-20",
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "kind": kind,
        "region": region,
        "due_on": due_on,
        "state": "open",
        "title": "任务",
        "opened_on": opened_on,
        "created_at": opened_on + "T01:00:00+00:00",
    }


def task_completed(
    task_id: str,
    *,
    kind: str = "appeal_review",
    region: str = "410322",
    due_on: str = "2026-03-20",
    completed_at: str = "2026-03-18T02:00:00+00:00",
    officer: str = "officer-1",
    cancelled: bool = False,
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "kind": kind,
        "task_kind": kind,
        "region": region,
        "due_on": due_on,
        "cancelled": cancelled,
        "decided_by": officer,
        "completed_at": completed_at,
    }


def appeal(appeal_id: str, state: str, *, region: str = "410322", version: int = 1) -> dict[str, Any]:
    return {
        "appeal_id": appeal_id,
        "version": version,
        "state": state,
        "record_id": "r1",
        "subject": {"type": "supplier", "id": "x"},
        "applicant": {"type": "supplier", "id": "x"},
        "region": region,
        "evidence_count": 0,
        "filed_at": "2026-03-05T00:00:00+00:00",
    }


def expert(expert_id: str, status: str, *, version: int = 1, region: str = "410300") -> dict[str, Any]:
    return {"expert": {"id": expert_id}, "region": region, "status": status, "reasons": [], "version": version}


def subject(subject_id: str, blacklisted: bool, *, version: int = 1, region: str = "410322") -> dict[str, Any]:
    return {
        "subject": {"type": "supplier", "id": subject_id, "name": "某公司"},
        "version": version,
        "may_participate": not blacklisted,
        "blacklisted": blacklisted,
        "records_in_force": [{"region": region}] if blacklisted else [],
    }


def deadline(project: str, level: str, *, region: str = "410322", party: str = "PUR-1") -> dict[str, Any]:
    return {
        "project": {"code": project},
        "region": region,
        "stage": "payment",
        "due_on": "2026-03-01",
        "level": level,
        "responsible": {"type": "purchaser", "id": party, "name": "洛阳市某局"},
    }


def event(type_: str, data: dict[str, Any], *, id: str, time: datetime | None = None) -> dict[str, Any]:
    return build_event(
        type=TYPE_PREFIX + type_,
        source="urn:credit:test",
        data=data,
        id=id,
        time=time or datetime(2026, 3, 15, 2, 0, tzinfo=UTC),
    )


def inbound(ev: dict[str, Any]) -> Inbound:
    value, headers = encode_structured(ev)
    return Inbound(original=None, key="k", envelope=parse_kafka_message(value, headers), value=value)


def push(
    platform: str,
    state: str,
    *,
    record_id: str = "rec-1",
    region: str = "410322",
    at: str = "2026-03-15T02:00:00+00:00",
    attempts: int = 1,
) -> dict[str, Any]:
    """`data` of push.delivered.v1 (state `delivered`) or push.failed.v1 (the others)."""
    key = f"{platform}:{record_id}:v1"
    data: dict[str, Any] = {
        "idempotency_key": key,
        "platform": platform,
        "action": "publish",
        "region": region,
        "notice_id": f"blacklist-{record_id}-v1",
        "record_id": record_id,
        "attempts": attempts,
        "task_id": None,
        "state": state,
    }
    if state == "delivered":
        return data | {"delivered_at": at}
    return data | {"reason": "HTTP 503" if state == "acknowledged" else "no endpoint configured", "failed_at": at}


def evaluation(
    subject_id: str,
    grade: str,
    *,
    kind: str = "purchaser",
    region: str = "210100",
    period: str = "2025",
    interview: bool = False,
    published_at: str = "2026-03-10T02:00:00+00:00",
) -> dict[str, Any]:
    """`data` of evaluation.published.v1 as the evaluations service writes it."""
    return {
        "kind": kind,
        "subject_id": subject_id,
        "region": region,
        "period": period,
        "policy": "沈阳市采购人绩效考核办法",
        "total": 27.5 if interview else 90.0,
        "grade": grade,
        "interview": interview,
        "lines": [],
        "reviewed_by": "officer-sy",
        "published_at": published_at,
    }
