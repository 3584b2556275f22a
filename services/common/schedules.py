"""Creating a Temporal Schedule, or bringing an existing one up to date, in one place (the notices'
and the annual reports' schedules)."""

import dataclasses

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate, ScheduleUpdateInput


async def upsert_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create it, or replace the spec and action of the existing one; its state (an operator may
    have paused it) and its policies stay."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            kept = dataclasses.replace(current.description.schedule, spec=schedule.spec, action=schedule.action)
            return ScheduleUpdate(schedule=kept)

        await client.get_schedule_handle(schedule_id).update(replace)
