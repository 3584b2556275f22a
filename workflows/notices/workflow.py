"""The periodic notice of general records (001 Art. 21: 定期在洛阳市政府采购网进行通报): one run per
period and region, started by the region's Temporal Schedule (`notices:{region}`, created by the
publication service at start, policy `notice_cadence`, `publication.notice_day_of_month` and
`notice_hour`, Asia/Shanghai). The run works out which period has just ended from the time it was
scheduled for (not from when it happened to start, so a run caught up late still publishes the
period it was due for) and has the publication service build and publish that period's notice —
idempotently on (region, period), so a repeated or manually triggered run publishes nothing twice."""

from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from workflows.activity_names import PUBLISH_PERIOD_NOTICE

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import add_months, local_date
    from services.common.temporal import PUBLICATION_ACTIVITIES
    from workflows.notices.inputs import Cadence, NoticePeriodInput, NoticeRequest, NoticeResult

# Set by the server on every run a Schedule starts: the moment the run was due.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3}
# Database down or the service restarting: keep trying, the notice is owed.
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


def notice_schedule_id(region: str) -> str:
    return f"notices:{region}"


def previous_period(day: date, cadence: Cadence) -> tuple[date, date]:
    """The whole period (first and last day) before the one `day` is in: calendar months, or
    calendar quarters (Jan–Mar, …) for `quarterly`."""
    months = MONTHS[cadence]
    current = date(day.year, ((day.month - 1) // months) * months + 1, 1)
    start = add_months(current, -months)
    return start, current - timedelta(days=1)


@workflow.defn
class PeriodicNoticeWorkflow:
    @workflow.run
    async def run(self, inp: NoticePeriodInput) -> NoticeResult:
        due = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        start, end = previous_period(inp.period_before or local_date(due), inp.cadence)
        return await workflow.execute_activity(
            PUBLISH_PERIOD_NOTICE,
            NoticeRequest(region=inp.region, cadence=inp.cadence, period_start=start, period_end=end),
            result_type=NoticeResult,
            task_queue=PUBLICATION_ACTIVITIES,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=PUBLISH_RETRY,
        )
