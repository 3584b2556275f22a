"""Builders of procurement events (CONTRACT v1.1 §1, credit.inbound.procurement) for the watch's
tests and its benchmark: each test states only the type, the project and the fact's time."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event, encode_structured, parse_kafka_message
from services.common.db import create_tables, make_engine
from services.common.identifiers import make_uscc
from services.common.inbound import Inbound
from services.common.topics import event_type
from services.watch.models import TABLES

XUCHANG = "411000"
XU_PURCHASER = make_uscc("12411000MB0000001")
XU_AGENCY = make_uscc("91411000MA0000002")
XU_SUPPLIER = make_uscc("91411000MA0000003")


def procurement_data(
    kind: str,
    *,
    code: str,
    at: datetime,
    region: str = XUCHANG,
    supplier: str = XU_SUPPLIER,
    contract_no: str | None = None,
    **extra: object,
) -> dict:
    data: dict = {
        "project": {"code": code, "name": f"项目 {code}"},
        "region": region,
        "purchaser": {"id": XU_PURCHASER, "name": "许昌市某采购人"},
        "agency": {"id": XU_AGENCY, "name": "许昌市某代理机构"},
        "at": at.isoformat(),
    }
    if kind in ("award.notified", "contract.signed", "bid.submitted"):
        data["supplier"] = {"id": supplier, "name": "某供应商有限公司"}
        data["amount"] = "100000.00"
    if contract_no is not None:
        data["contract_no"] = contract_no
    if kind == "invoice.received":
        data.setdefault("invoice_no", "INV-1")
        data["payable"] = True
    data.update(extra)
    return data


def procurement_event(
    kind: str, *, code: str, at: datetime, source: str = "urn:eproc:xuchang", id: str | None = None, **kw: object
) -> dict:
    """A whole CloudEvent of `kind` (e.g. `award.notified`) for project `code`, its fact at `at`."""
    return build_event(
        type=event_type(f"{kind}.v1"),
        source=source,
        id=id or str(uuid.uuid4()),
        data=procurement_data(kind, code=code, at=at, **kw),  # type: ignore[arg-type]
    )


@asynccontextmanager
async def watch_database(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The watch's tables on a SQLite file of the test's own."""
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'watch.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def inbound(event: dict, key: str | None = None) -> Inbound:
    """A CloudEvent as the consumer receives it from Kafka (structured mode), keyed by its project."""
    value, headers = encode_structured(event)
    env = parse_kafka_message(value, headers)
    key = key if key is not None else event["data"]["project"]["code"]
    return Inbound(None, key, envelope=env, value=value, headers=tuple(headers))
