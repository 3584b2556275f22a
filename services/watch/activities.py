"""Temporal activities of the watch service (queue `watch-activities`), called by the deadline
clock (workflows/deadline_clock/workflow.py). Each stores what happened and writes the events it owes in one
transaction (outbox), and is idempotent: a retried activity changes nothing more."""

from datetime import UTC, date, datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent, write_outbox
from services.common.relay import OutboxRelay
from services.common.sql import insert_rows
from services.common.topics import BEHAVIOUR_REPORTED, INBOUND_BEHAVIOUR, WARNINGS, event_type
from services.watch.events import SOURCE
from services.watch.models import CLOCKS, MESSAGING, NOTICES
from services.watch.models import WARNINGS as WARNINGS_T
from services.watch.notifier import CHANNELS, Notifier
from workflows.activity_names import (
    DELIVER_NOTICES,
    RAISE_WARNING,
    REPORT_INTERCEPTED_BEHAVIOUR,
    REPORT_OVERDUE_BEHAVIOUR,
    SETTLE_CLOCK,
)
from workflows.deadline_clock.inputs import InterceptionDecided, OverdueDecided, WarningRaised

log = structlog.get_logger(__name__)
DEADLINE_WARNING = event_type("deadline.warning.v1")


def warning_id(raised: WarningRaised, attempt_key: str = "") -> str:
    if raised.reminder:
        return f"{raised.clock_id}:reminder:{raised.task_id}:{attempt_key}"
    return f"{raised.clock_id}:{raised.level}"


def warning_data(clock: dict, level: str, task_id: str | None) -> dict:
    """`deadline.warning.v1` (CONTRACT v1.1 §1)."""
    data = {
        "project": {"code": clock["project_code"], "name": clock["project_name"]},
        "region": clock["region"],
        "stage": clock["stage"],
        "due_on": clock["due_on"].isoformat(),
        "level": level,
        "responsible": clock["responsible"],
        "provisional": clock["provisional"],
        "basis": clock["rule"]["source"],
    }
    if clock["contract_no"]:
        data["contract_no"] = clock["contract_no"]
    if task_id:
        data["task_id"] = task_id
    return data


class WatchActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay, channels: dict[str, Notifier | None]) -> None:
        self._engine = engine
        self._relay = relay
        self._channels = channels

    @activity.defn(name=RAISE_WARNING)
    async def raise_warning(self, raised: WarningRaised) -> str:
        now = datetime.now(UTC)
        # A reminder is one notice per decision: its id comes from the activity, stable over retries.
        wid = warning_id(raised, activity.info().activity_id if raised.reminder else "")
        async with self._engine.begin() as conn:
            found = (await conn.execute(select(CLOCKS).where(CLOCKS.c.clock_id == raised.clock_id))).mappings().first()
            if found is None:
                raise LookupError(f"no clock {raised.clock_id}")
            if (await conn.execute(select(WARNINGS_T.c.warning_id).where(WARNINGS_T.c.warning_id == wid))).first():
                return wid
            clock = dict(found)
            await insert_rows(
                conn,
                WARNINGS_T,
                [
                    {
                        "warning_id": wid,
                        "clock_id": raised.clock_id,
                        "region": clock["region"],
                        "project_code": clock["project_code"],
                        "stage": clock["stage"],
                        "level": raised.level,
                        "due_on": clock["due_on"],
                        "responsible_type": clock["responsible"]["type"],
                        "responsible_id": clock["responsible"]["id"],
                        "task_id": raised.task_id,
                        "raised_at": now,
                    }
                ],
            )
            values: dict = {"updated_at": now}
            if not raised.reminder:
                values["level"] = raised.level
            if raised.task_id:
                values["task_id"] = raised.task_id
            await conn.execute(update(CLOCKS).where(CLOCKS.c.clock_id == raised.clock_id).values(**values))
            event = build_event(
                type=DEADLINE_WARNING,
                source=SOURCE,
                id=f"warning:{wid}",
                time=now,
                data=warning_data(clock, raised.level, raised.task_id),
            )
            await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(WARNINGS, clock["project_code"], event)])
            await _notices(conn, wid, clock, raised, self._channels, now)
        self._relay.wake()
        return wid

    @activity.defn(name=DELIVER_NOTICES)
    async def deliver_notices(self, wid: str) -> int:
        """Send the warning's pending notices; a failure is recorded and raised (Temporal retries it,
        up to CREDIT_NOTIFY_ATTEMPTS), and the last attempt records it `failed`. Returns how many
        were delivered."""
        async with self._engine.connect() as conn:
            rows = (
                (await conn.execute(select(NOTICES).where(NOTICES.c.warning_id == wid, NOTICES.c.state == "pending")))
                .mappings()
                .all()
            )
        delivered, errors = 0, []
        policy = activity.info().retry_policy
        limit = policy.maximum_attempts if policy is not None else 0
        last_attempt = limit > 0 and activity.info().attempt >= limit
        for row in rows:
            adapter = self._channels.get(row["channel"])
            state, error = "delivered", None
            try:
                assert adapter is not None
                notice = {k: row[k] for k in ("notice_id", "warning_id", "recipient", "text")}
                await adapter.send(notice)
            except Exception as exc:  # noqa: BLE001 - recorded, then retried by Temporal
                error = repr(exc)[:500]
                state = "failed" if last_attempt else "pending"
                errors.append(error)
            else:
                delivered += 1
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(NOTICES)
                    .where(NOTICES.c.notice_id == row["notice_id"])
                    .values(state=state, attempts=NOTICES.c.attempts + 1, last_error=error, updated_at=_now())
                )
        if errors and not last_attempt:
            raise RuntimeError(f"{len(errors)} notice(s) not accepted: {errors[0]}")
        return delivered

    @activity.defn(name=REPORT_OVERDUE_BEHAVIOUR)
    async def report_overdue_behaviour(self, decided: OverdueDecided) -> None:
        """The officer's `report_behaviour` on a deadline_overdue task."""
        async with self._engine.connect() as conn:
            clock = (await conn.execute(select(CLOCKS).where(CLOCKS.c.clock_id == decided.clock_id))).mappings().one()
        await self._report(
            subject=clock["responsible"],
            behaviour_code=decided.fields["behaviour_code"],
            region=clock["region"],
            project={"code": clock["project_code"], "name": clock["project_name"]},
            # The day the deadline was missed: the day after the due date.
            occurred_on=clock["due_on"] + timedelta(days=1),
            description=f"{clock['stage']} due {clock['due_on'].isoformat()} ({clock['rule']['source']})"
            f" was missed. {decided.reason}",
            org=decided.decided_by_org,
            event_id=f"overdue-report:{decided.task_id}",
        )

    @activity.defn(name=REPORT_INTERCEPTED_BEHAVIOUR)
    async def report_intercepted_behaviour(self, decided: InterceptionDecided) -> None:
        """The officer's `report_behaviour` on an interception task."""
        await self._report(
            subject=decided.subject,
            behaviour_code=decided.behaviour_code,
            region=decided.region,
            project=decided.project,
            occurred_on=decided.occurred_on,
            description=f"intercepted ({decided.interception_id}). {decided.reason}",
            org=decided.decided_by_org,
            event_id=f"interception-report:{decided.task_id}",
        )

    async def _report(
        self,
        *,
        subject: dict,
        behaviour_code: str,
        region: str,
        project: dict,
        occurred_on: date,
        description: str,
        org: str,
        event_id: str,
    ) -> None:
        """A behaviour.reported.v1 from the finance department that decided, sent through the normal
        intake (credit.inbound.behaviour): the watch never records by itself. Its id comes from the
        task, so a retried activity reports once."""
        data = {
            "subject": subject,
            "behaviour_code": behaviour_code,
            "reporter": {"type": "finance", "id": org, "name": f"财政部门 {org}"},
            "region": region,
            "project": project,
            "occurred_on": occurred_on.isoformat(),
            "description": description,
            "evidence": [],
        }
        event = build_event(type=BEHAVIOUR_REPORTED, source=SOURCE, id=event_id, data=data)
        async with self._engine.begin() as conn:
            await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(INBOUND_BEHAVIOUR, subject["id"], event)])
        self._relay.wake()

    @activity.defn(name=SETTLE_CLOCK)
    async def settle_clock(self, decided: OverdueDecided) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(CLOCKS)
                .where(CLOCKS.c.clock_id == decided.clock_id)
                .values(decision=decided.decision, updated_at=_now())
            )


async def _notices(conn, wid: str, clock: dict, raised: WarningRaised, channels: dict, now: datetime) -> None:  # type: ignore[no-untyped-def]
    # The responsible purchaser, and the agency that runs the procurement for it when there is one
    # (issue 13: purchasers and agencies are warned).
    recipients = [clock["responsible"]["id"], *([clock["agency_id"]] if clock.get("agency_id") else [])]
    text = (
        f"[{raised.level}] 项目 {clock['project_code']} {clock['stage']} 截止 {clock['due_on'].isoformat()}"
        f" ({clock['rule']['source'].split(':')[0]})"
    )
    rows = [
        {
            "notice_id": f"{wid}:{channel}:{recipient}",
            "warning_id": wid,
            "channel": channel,
            "recipient": recipient,
            "state": "pending" if channels.get(channel) is not None else "not_configured",
            "attempts": 0,
            "last_error": None,
            "text": text,
            "updated_at": now,
        }
        for channel in CHANNELS
        for recipient in recipients
    ]
    await insert_rows(conn, NOTICES, rows)


def _now() -> datetime:
    return datetime.now(UTC)
