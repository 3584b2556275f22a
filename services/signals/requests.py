"""What the signals service asks of a finance department: a `determination.requested.v1` on
`credit.tasks` (the normal determination path, CONTRACT §4), read by casework, which opens the
determination task and, on `determine`, makes the record through the evaluation service."""

import hashlib
from datetime import date, datetime
from typing import Any

from services.common.catalogue import load_catalogue
from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent
from services.common.topics import DETERMINATION_REQUESTED, TASKS
from workflows.determination.inputs import DeterminationRequest

SOURCE = "urn:credit:signals"
# The signals service reports in its own name: no purchaser or agency saw the behaviour.
REPORTER = {"type": "system", "id": "signals", "name": "信用信号（自动监测）"}


def request_id_of(key: str) -> str:
    """A stable id of at most 100 characters for a signal's business key (redelivery: the same)."""
    return "signal-" + hashlib.sha256(key.encode()).hexdigest()[:40]


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
    """The request for one subject and behaviour; `signal` (what was found, on which facts) travels in
    `behaviour.signal` for the officer, who decides on it."""
    behaviour = load_catalogue().get(code)
    request = DeterminationRequest(
        request_id=request_id_of(key),
        region=region,
        subject=subject,
        behaviour_code=code,
        behaviour={
            "code": code,
            "severity": behaviour.severity if behaviour else None,
            "text": behaviour.text if behaviour else None,
            "legal_basis": behaviour.legal_basis if behaviour else None,
            "signal": signal,
        },
        reporter=REPORTER,
        project=project,
        occurred_on=occurred_on,
        evidence_count=0,
        reported_at=now,
    )
    return OutboundEvent(
        topic=TASKS,
        key=subject["id"],
        event=build_event(
            type=DETERMINATION_REQUESTED,
            source=SOURCE,
            subject=request.request_id,
            id=f"{request.request_id}:requested",
            time=now,
            data=request.model_dump(mode="json"),
        ),
    )
