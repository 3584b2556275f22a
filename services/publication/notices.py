"""Notices (001 Art. 21): what is written when one is published — the notice row, which records it
lists or takes down, one push per national platform, and `notice.published.v1` on credit.notices
through the outbox, all in the caller's transaction — and the period notice of general records.

A notice carries what the public may know of each record (views.public_record: masked subject,
behaviour, dates, never evidence or descriptions). Its event is what was published that day; the
served notice (api_notices.py) lists only records still in force, so what comes down comes down
from old notices too."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Exists, Select, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.cloudevents import build_event
from services.common.commands import write_commands
from services.common.identifiers import division_level
from services.common.messaging import OutboundEvent, write_outbox
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.common.topics import NOTICE_PUBLISHED, NOTICES
from services.publication.commands import push_command
from services.publication.credit_answers import public_record
from services.publication.models import COMMANDS, MESSAGING, PublicNotice, PublicNoticeEntry, PublicRecord, PushDelivery
from workflows.notices.inputs import NoticeRequest, NoticeResult

NOTICES_T = table_of(PublicNotice)
ENTRIES_T = table_of(PublicNoticeEntry)
RECORDS_T = table_of(PublicRecord)
PUSHES_T = table_of(PushDelivery)
SOURCE = "urn:credit:publication"
# 001 Art. 21: a serious record is pushed to the same-level public credit information system (推送同级
# 公共信用信息系统) and published on 中国政府采购网 and 信用中国; general records are 定期在洛阳市政府采购网进行
# 通报 — the period notice (its event and page), pushed to none of these.
PLATFORMS = ("procurement", "credit", "public_credit")
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6}


def region_prefix(region: str) -> str:
    """The division-code prefix of `region` and every region under it."""
    return region[: PREFIX_LENGTH[division_level(region)]]


def withdrawal(row: dict) -> dict:
    """A record taken down: which one and why, nothing more."""
    return {
        "record_id": row["record_id"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
        "behaviour_code": row["behaviour_code"],
        "severity": row["severity"],
        "region": row["region"],
        "recorded_on": row["recorded_on"].isoformat(),
        "status": row["status"],
        "resolution": row.get("resolution"),
    }


def pushes_for(notice_id: str, action: str, *, region: str, record: dict | None = None) -> list[dict]:
    """One push per platform of a serious record's publication or withdrawal; the key is stable per
    record version (a blacklist notice and its removal are versions of the record). A period notice
    (general records, `record` None) is published on the city's procurement website — the notice
    event and page — and pushed nowhere (001 Art. 21)."""
    if record is None:
        return []
    return [
        {
            "idempotency_key": f"{p}:{record['record_id']}:v{record['version']}",
            "action": action,
            "record_id": record["record_id"],
            "region": record["region"],
            "subject": {"type": record["subject_type"], "id": record["subject_id"], "name": record["subject_name"]},
        }
        for p in PLATFORMS
    ]


async def write_notice(
    conn: AsyncConnection,
    *,
    notice: dict,
    listed: list[dict],
    withdrawn: list[dict],
    pushes: list[dict],
    key: str,
    now: datetime,
) -> None:
    """Store a notice and owe its event and its pushes. `notice` holds notice_id, kind, region and
    the period fields; `pushes` come from `pushes_for`."""
    body = {
        **{k: notice[k] for k in ("notice_id", "kind", "region")},
        "period": notice.get("period"),
        "published_at": now.isoformat(),
        "entries": [public_record(r) for r in listed],
        "withdrawals": [withdrawal(r) for r in withdrawn],
    }
    period = notice.get("period") or {}
    await insert_rows(
        conn,
        NOTICES_T,
        [
            {
                "notice_id": notice["notice_id"],
                "kind": notice["kind"],
                "region": notice["region"],
                "period_start": date.fromisoformat(period["start"]) if period else None,
                "period_end": date.fromisoformat(period["end"]) if period else None,
                "cadence": period.get("cadence"),
                "published_at": now,
                "entry_count": len(listed),
                "withdrawal_count": len(withdrawn),
                "body": body,
            }
        ],
    )
    entries = [(r["record_id"], "listed") for r in listed] + [(r["record_id"], "withdrawn") for r in withdrawn]
    await insert_rows(
        conn,
        ENTRIES_T,
        [
            {"notice_id": notice["notice_id"], "record_id": rid, "role": role, "region": notice["region"]}
            for rid, role in entries
        ],
    )
    await insert_rows(
        conn,
        PUSHES_T,
        [
            {
                **push,
                "platform": push["idempotency_key"].split(":", 1)[0],
                "notice_id": notice["notice_id"],
                "payload": {"idempotency_key": push["idempotency_key"], "action": push["action"], "notice": body},
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for push in pushes
        ],
    )
    await write_commands(conn, COMMANDS, [push_command(push["idempotency_key"]) for push in pushes])
    event = build_event(
        type=NOTICE_PUBLISHED, source=SOURCE, subject=notice["notice_id"], id=notice["notice_id"], time=now, data=body
    )
    await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(topic=NOTICES, key=key, event=event)])


async def publish_period_notice(conn: AsyncConnection, req: NoticeRequest, *, now: datetime) -> NoticeResult:
    """The notice of the general records recorded in the period (in force now, so one repaired or
    withdrawn before the notice is not in it), and of those an earlier notice of the region listed
    that have come down since. Once per (region, period)."""
    notice_id = f"period-{req.region}-{req.period_start.isoformat()}"
    done = (await conn.execute(select(NOTICES_T).where(NOTICES_T.c.notice_id == notice_id))).first()
    if done is not None:
        return NoticeResult(
            notice_id=notice_id, entries=done.entry_count, withdrawals=done.withdrawal_count, created=False
        )
    listed = [
        dict(r._mapping)
        for r in await conn.execute(
            select(RECORDS_T)
            .where(
                RECORDS_T.c.recorded_on.between(req.period_start, req.period_end),
                RECORDS_T.c.severity == "general",
                RECORDS_T.c.status == "in_force",
                RECORDS_T.c.region.startswith(region_prefix(req.region)),
            )
            .order_by(RECORDS_T.c.recorded_on, RECORDS_T.c.record_id)
        )
    ]
    withdrawn = [dict(r._mapping) for r in await conn.execute(_came_down(req.region))]
    period = {"start": req.period_start.isoformat(), "end": req.period_end.isoformat(), "cadence": req.cadence}
    # Published here (the city site shows every period, empty or not); general records are not pushed.
    pushes = pushes_for(notice_id, "publish", region=req.region)
    await write_notice(
        conn,
        notice={"notice_id": notice_id, "kind": "period", "region": req.region, "period": period},
        listed=listed,
        withdrawn=withdrawn,
        pushes=pushes,
        key=req.region,
        now=now,
    )
    return NoticeResult(notice_id=notice_id, entries=len(listed), withdrawals=len(withdrawn), created=True)


def _came_down(region: str) -> Select[Any]:
    """Records a period notice of `region` listed, no longer in force, not yet taken down by one."""

    def role(name: str) -> Exists:
        return exists().where(
            ENTRIES_T.c.record_id == RECORDS_T.c.record_id,
            ENTRIES_T.c.region == region,
            ENTRIES_T.c.role == name,
            ENTRIES_T.c.notice_id.startswith("period-"),
        )

    return (
        select(RECORDS_T)
        .where(and_(RECORDS_T.c.status != "in_force", role("listed"), ~role("withdrawn")))
        .order_by(RECORDS_T.c.record_id)
    )
