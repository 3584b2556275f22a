"""Every activity worker's failure mode, bounded and visible (issue 21, point 2).

The workflows retry activities without a limit, which is right for an outage (the database or a
platform is down: the work is done when it is back) and wrong for an input the activity refuses
every time (a value the database cannot store): that retried forever, silently, while the appeal
it served stayed `under_review`.

This interceptor leaves as they are outages (the database's, a platform's or Temporal's:
`_outage`) and business failures (`ApplicationError`, which the activities calling platforms
raise, retryable, for a platform's refusal). Every other failure is logged as an error with its
class and counted (`credit_activity_failures_total`); after `CREDIT_ACTIVITY_ATTEMPTS` attempts it
becomes a non-retryable `ApplicationError` of type `processing_failed`: the workflow fails with
that cause, visible in Temporal (status Failed, the failure's type and message) and in the logs,
and can be reset once the cause is fixed."""

from collections.abc import Callable, Sequence
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from services.common.db_errors import describe, is_transient
from services.common.settings import get_settings

log = structlog.get_logger(__name__)
ACTIVITY_FAILURES = Counter(
    "credit_activity_failures_total",
    "Activity attempts that failed for a reason other than an outage",
    ["activity", "error_class"],
)


class BoundedActivityFailures(Interceptor):
    def __init__(self, attempts: int) -> None:
        self.attempts = attempts

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.attempts)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, attempts: int) -> None:
        super().__init__(next)
        self.attempts = attempts

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except ApplicationError:
            raise  # a business failure, decided by the activity itself
        except Exception as exc:
            if _outage(exc):
                raise  # an outage: retried by the workflow's policy until it is over
            info = activity.info()
            error_class, text = describe(exc)
            ACTIVITY_FAILURES.labels(info.activity_type, error_class).inc()
            final = info.attempt >= self.attempts
            log.error(
                "activity failed" + (", not retried" if final else ""),
                activity=info.activity_type,
                workflow_id=info.workflow_id,
                attempt=info.attempt,
                error=error_class,
                detail=text,
            )
            if final:
                raise ApplicationError(
                    f"{info.activity_type} failed {info.attempt} times: {error_class}: {text}",
                    type="processing_failed",
                    non_retryable=True,
                ) from exc
            raise


def _outage(exc: BaseException) -> bool:
    """The database's, the network's (a platform or Temporal unreachable) or the system's."""
    if is_transient(exc):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RPCError | httpx.TransportError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def activity_worker(client: Client, *, task_queue: str, activities: Sequence[Callable]) -> Worker:
    """The Temporal worker of a service's activities, with the bounded failure mode above."""
    attempts = get_settings().credit_activity_attempts
    return Worker(
        client, task_queue=task_queue, activities=activities, interceptors=[BoundedActivityFailures(attempts)]
    )
