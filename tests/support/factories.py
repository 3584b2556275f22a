"""Builders of valid inputs, so each test states only what it changes."""

import hashlib
import itertools
import random
import uuid
from datetime import date, timedelta

from services.common.cloudevents import build_event
from services.common.identifiers import make_uscc
from services.common.lawdates import today
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED

_counter = itertools.count(1)
PURCHASER_ID = make_uscc("12410300MB0000001")
AGENCY_ID = make_uscc("91410300MA0000002")


def new_uscc() -> str:
    """A fresh valid supplier code (registered in Luoyang, 410300)."""
    n = next(_counter) * 7919 + random.randrange(10**6)
    return make_uscc(f"91410300{n % 10**9:09d}")


def evidence(n: int = 1) -> list[dict]:
    return [
        {
            "kind": "photo",
            "uri": f"https://evidence.example/e/{uuid.uuid4().hex}.jpg",
            "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
        }
        for i in range(n)
    ]


def report_data(
    *,
    subject_id: str | None = None,
    subject_type: str = "supplier",
    code: str = "SUP-G-01",
    reporter_type: str = "purchaser",
    reporter_id: str | None = None,
    region: str = "410322",
    with_evidence: bool = True,
    occurred_on: date | None = None,
    determination: dict | None = None,
    subject_name: str = "洛阳某某科技有限公司",
) -> dict:
    if reporter_id is None:
        reporter_id = {"purchaser": PURCHASER_ID, "agency": AGENCY_ID, "finance": "410300"}[reporter_type]
    data = {
        "subject": {"type": subject_type, "id": subject_id or new_uscc(), "name": subject_name},
        "behaviour_code": code,
        "reporter": {"type": reporter_type, "id": reporter_id, "name": "报告单位"},
        "region": region,
        "project": {"code": f"LYCG-2026-{next(_counter):05d}", "name": "办公设备采购项目"},
        "occurred_on": (occurred_on or today() - timedelta(days=3)).isoformat(),
        "description": "投标文件中的业绩证明与实际不符",
        "evidence": evidence() if with_evidence else [],
    }
    if determination is not None:
        data["determination"] = determination
    return data


def determination(*, years: int = 2) -> dict:
    d = today()
    return {
        "decision_no": f"洛财购处〔2026〕{next(_counter)}号",
        "decided_on": (d - timedelta(days=1)).isoformat(),
        "liability_ends_on": (d + timedelta(days=365 * years)).isoformat(),
        "penalty": "列入不良行为记录名单，一年内禁止参加政府采购活动",
    }


def event(data: dict, *, type: str | None = None, source: str = "urn:eproc:luoyang", id: str | None = None) -> dict:
    if type is None:
        type = MISCONDUCT_DETERMINED if "determination" in data else BEHAVIOUR_REPORTED
    return build_event(type=type, source=source, data=data, id=id or str(uuid.uuid4()))
