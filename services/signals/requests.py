"""What the signals service asks of a finance department (the normal determination path, CONTRACT §4):
it files the case as a `behaviour.reported.v1` on `credit.inbound.behaviour` in the system's name
(reporter type `system`, id `signals`, accepted only from this service's source). The evaluation
service keeps the request and asks casework for the determination task, as for any serious
report; on `determine` it makes the record."""

import hashlib
from datetime import date, datetime
from typing import Any

from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent
from services.common.schemas import SYSTEM_REPORTER_ID, BehaviourReport
from services.common.topics import BEHAVIOUR_REPORTED, INBOUND_BEHAVIOUR

SOURCE = "urn:credit:signals"
# The signals service reports in its own name: no purchaser or agency saw the behaviour.
REPORTER = {"type": "system", "id": SYSTEM_REPORTER_ID, "name": "信用信号（自动监测）"}


def request_id_of(key: str) -> str:
    """A stable id of at most 100 characters for a signal's business key (redelivery: the same)."""
    return "signal-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def project_of(project: dict[str, Any], key: str) -> dict[str, Any]:
    """The report's project: a signal without one (a commitment made outside a project) is filed
    under its own key."""
    code = str(project.get("code") or key)[:100]
    return {**project, "code": code, "name": str(project.get("name") or code)[:300]}


def determination_request(
    *,
    key: str,
    region: str,
    subject: dict[str, Any],
    code: str,
    occurred_on: date,
    project: dict[str, Any],
    signal: dict[str, Any],
    now: datetime,
) -> OutboundEvent:
    """The report for one subject and behaviour; `signal` (what was found, on which facts) travels in
    `signal` and reaches the officer in the task's `behaviour.signal`."""
    report = BehaviourReport.model_validate(
        {
            "subject": subject,
            "behaviour_code": code,
            "reporter": REPORTER,
            "region": region,
            "project": project_of(project, key),
            "occurred_on": occurred_on,
            "description": f"信用信号：{signal.get('rule', code)}（待财政部门认定）"[:5000],
            "signal": signal,
        }
    )
    request_id = request_id_of(key)
    return OutboundEvent(
        topic=INBOUND_BEHAVIOUR,
        key=subject["id"],
        event=build_event(
            type=BEHAVIOUR_REPORTED,
            source=SOURCE,
            subject=request_id,
            id=f"{request_id}:reported",
            time=now,
            data=report.model_dump(mode="json", exclude_none=True),
        ),
    )
