"""The statistics service's consumer of `credit.pushes` (issue 17): each push's final outcome
(`push.delivered.v1`, `push.failed.v1` from the publication service) adds 1 to the counter `pushes`
(final state, platform) of the push's region in the month it ended, rolled up like every counter.

A consumer of its own, on the frame, beside the one of the other topics (counting.py): it is the one
reader of `credit.pushes` and so answers for it (contracts/owners.py) — a malformed event, an
unknown type or version, data its contract refuses and an id reused with another payload are
dead-lettered with their reason — while the other consumer, a copy of topics other services answer
for, refuses nothing."""

from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts.decode import INVALID_DATA, Typed
from services.common.contracts.owners import STATISTICS
from services.common.contracts.pushes import PUSH_DELIVERED, PUSH_FAILED, PushDelivered, PushFailed, PushOutcome
from services.common.frame import Accepted, Batch, Consumer, Outcome, Rejected, counts, handle_batch
from services.common.identifiers import is_division_code
from services.common.inbound import Inbound
from services.common.topics import PUSHES
from services.statistics.counting import BEIJING, SOURCE, Key, add_count, add_counts
from services.statistics.models import MESSAGING


def _ended_on(moment: str) -> date | None:
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return when.astimezone(BEIJING).date() if when.tzinfo else None


async def on_push(event: Typed[PushOutcome], batch: Batch) -> Outcome:
    d = event.data
    if not is_division_code(d.region):
        return Rejected(INVALID_DATA, f"region {d.region!r} is not a division code")
    moment = d.delivered_at if isinstance(d, PushDelivered) else d.failed_at if isinstance(d, PushFailed) else ""
    day = _ended_on(moment)
    if day is None:
        return Rejected(INVALID_DATA, f"{moment!r} is not a time with its offset")
    add_count(batch, d.region, day, "pushes", d.state, d.platform)
    return Accepted("counted")


async def _finish(batch: Batch) -> None:
    tally: Counter[Key] = batch.state("counts", Counter)
    await add_counts(batch.conn, tally)


PUSH_CONSUMER = Consumer(
    service=STATISTICS,
    source=SOURCE,
    messaging=MESSAGING,
    topics=(PUSHES,),
    handlers={PUSH_DELIVERED: on_push, PUSH_FAILED: on_push},
    finish=_finish,
)


async def apply_pushes(conn: AsyncConnection, items: list[Inbound], *, now: datetime | None = None) -> dict[str, int]:
    return counts(await handle_batch(PUSH_CONSUMER, conn, items, now=now or datetime.now(UTC)))
