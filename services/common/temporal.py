"""Temporal client and the task queues of the system."""

import asyncio
import dataclasses
from functools import lru_cache

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from services.common.db_errors import is_transient
from services.common.settings import Settings

WORKFLOW_QUEUE = "credit-workflows"
EVALUATION_ACTIVITIES = "evaluation-activities"
CASEWORK_ACTIVITIES = "casework-activities"
REPAIR_ACTIVITIES = "repair-activities"
APPEAL_ACTIVITIES = "appeal-activities"
PUBLICATION_ACTIVITIES = "publication-activities"
WATCH_ACTIVITIES = "watch-activities"
SIGNALS_ACTIVITIES = "signals-activities"
EVALUATIONS_ACTIVITIES = "evaluations-activities"
STATISTICS_ACTIVITIES = "statistics-activities"


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted with AES-GCM when CREDIT_PAYLOAD_KEY is set (services/codec).
    Every client and worker of one cluster must use the same (tests: the same settings)."""
    keys = settings.payload_keys()
    if not keys:
        return pydantic_data_converter
    from services.codec.aesgcm import AesGcmCodec

    return dataclasses.replace(pydantic_data_converter, payload_codec=AesGcmCodec(keys))


@lru_cache(maxsize=1)
def _metrics_runtime(bind: str) -> Runtime:
    # One SDK runtime per process, serving the workers' metrics (task slots, poll latency,
    # schedule-to-start, sticky cache) at `bind` for Prometheus.
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=settings.temporal_tls_config(),
        api_key=settings.temporal_api_key,
        runtime=_metrics_runtime(settings.temporal_metrics_bind) if settings.temporal_metrics_bind else None,
    )


class LazyClient:
    """The process's Temporal client, connected on first use: a service starts (and serves HTTP and
    Kafka) even while Temporal is not up yet, and concurrent first callers share one connection."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await connect(self._settings)
            return self._client


# What a Temporal frontend answers when it is down, overloaded or restarting (gRPC status codes),
# as opposed to a refusal of this very request (INVALID_ARGUMENT, FAILED_PRECONDITION, …).
_UNAVAILABLE_STATUSES = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)


def temporal_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says Temporal (or the database) could not be reached: an outage to wait out,
    never a reason to dead-letter the message being handled (issue 21)."""
    if isinstance(exc, RPCError):
        return exc.status in _UNAVAILABLE_STATUSES
    # Client.connect to a server that does not answer: "Failed client connect: …"
    if isinstance(exc, RuntimeError) and str(exc).startswith("Failed client connect"):
        return True
    return is_transient(exc)
