"""The yearly run's first step (issue 15): the figures an evaluation scores, fetched from their
sources into `evaluations_figure`, each with its provenance (source, where it was read, when).

- The watch's on-time rates per purchaser or agency: `GET /internal/v1/figures` of the watch
  service, with a service token (services/watch/internal_api.py). A watch that is down, slow or
  answers anything but its figures fails the activity, which Temporal retries (the workflow's
  policy, no limit): a missing figure is never taken for a zero.
- The records in force at the end of the period (general, serious, all) of each subject the watch
  named, counted from this service's replica of `credit.records` (records.py); the figure keeps the
  ids it counted and how recent the replica was.

The subjects evaluated are those the watch has figures for in the region: a purchaser or agency
that ran no project there in the year has nothing to be assessed on."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Protocol

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.lawdates import local_date
from services.common.service_auth import mint_service_token
from services.common.settings import Settings
from services.evaluations.figures import store_figures, watch_figures
from services.evaluations.records import count_in_force, count_reports, records_of, replica_as_of, reported_by
from workflows.activity_names import COLLECT_FIGURES
from workflows.annual_evaluation.inputs import Collected, DraftRequest

WATCH_PATH = "/internal/v1/figures"
SERVICE = "evaluations"
REF_LIMIT = 300  # the column's length


class WatchItem(BaseModel):
    party: dict[str, str]
    on_time_rate: float | None = None
    stages: dict[str, dict[str, float | int | None]] = {}
    regions: list[str] = []


class WatchAnswer(BaseModel):
    kind: str
    region: str
    period: str
    computed_at: datetime
    items: list[WatchItem]


class WatchUnavailable(Exception):
    """The watch did not give its figures (down, timed out, refused, or an answer that is not them)."""


class FigureSource(Protocol):
    async def fetch(self, kind: str, region: str, period: str) -> WatchAnswer: ...


class WatchFigures:
    """The watch's internal endpoint, over HTTP with a fresh service token per call."""

    def __init__(
        self, base_url: str, *, secret: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._timeout = httpx.Timeout(timeout)
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: Settings) -> "WatchFigures":
        return cls(
            settings.credit_watch_url,
            secret=settings.credit_jwt_secret,
            timeout=settings.credit_watch_timeout_seconds,
        )

    async def fetch(self, kind: str, region: str, period: str) -> WatchAnswer:
        token = mint_service_token(SERVICE, secret=self._secret)
        params = {"kind": kind, "region": region, "period": period}
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, trust_env=False, transport=self._transport
            ) as http:
                r = await http.get(WATCH_PATH, params=params, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise WatchUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code != 200:
            raise WatchUnavailable(f"the watch answered {r.status_code}: {r.text[:300]}")
        try:
            answer = WatchAnswer.model_validate_json(r.content)
        except ValidationError as exc:
            raise WatchUnavailable(f"the watch's answer is not its figures: {exc}") from exc
        if (answer.kind, answer.region, answer.period) != (kind, region, period):
            raise WatchUnavailable(f"the watch answered about {answer.kind} {answer.region} {answer.period}")
        return answer


def period_end(period: str, now: datetime) -> date:
    """The day records are counted on: the period's last day, or today while the period runs."""
    year = int(period[:4])
    return min(date(year, 12, 31), local_date(now))


def _ref(text: str) -> str:
    return text if len(text) <= REF_LIMIT else text[: REF_LIMIT - 1] + "…"


def _subject_region(item: WatchItem, region: str) -> str:
    """Where the subject's figures belong: the one division its clocks ran in, else the run's region."""
    return item.regions[0] if len(item.regions) == 1 else region


def records_figures(kind: str, general: int, serious: int) -> dict[str, float]:
    """The record figures the policies score: agencies by severity, purchasers all together."""
    if kind == "purchaser":
        return {"records_in_force": general + serious}
    return {"general_in_force": general, "serious_in_force": serious}


async def collect(conn: AsyncConnection, req: DraftRequest, answer: WatchAnswer, *, now: datetime) -> Collected:
    """Store the watch's figures and the record counts of the subjects it named."""
    query = f"kind={req.kind}&region={req.region}&period={req.period}"
    watch_ref = _ref(f"watch GET {WATCH_PATH}?{query} (computed {answer.computed_at.isoformat()})")
    regions: Mapping[str, str] = {i.party["id"]: _subject_region(i, req.region) for i in answer.items}
    for item in answer.items:
        figures = watch_figures(item.model_dump())
        if figures:
            await store_figures(
                conn, kind=req.kind, subject_id=item.party["id"], region=regions[item.party["id"]],
                period=req.period, figures=figures, source="watch", source_ref=watch_ref, at=now,
            )  # fmt: skip
    day = period_end(req.period, now)
    as_of = await replica_as_of(conn)
    counted = count_in_force(await records_of(conn, req.kind, sorted(regions)), day)
    replica = f"credit.records replica (as of {as_of.isoformat() if as_of else 'no record yet'})"
    for subject, region in sorted(regions.items()):
        c = counted.get(subject)
        general, serious, ids = (c.general, c.serious, c.record_ids) if c else (0, 0, [])
        ref = _ref(f"{replica}: in force on {day.isoformat()}: " + (", ".join(ids) if ids else "none"))
        await store_figures(
            conn, kind=req.kind, subject_id=subject, region=region, period=req.period,
            figures=records_figures(req.kind, general, serious), source="records", source_ref=ref, at=now,
        )  # fmt: skip
    if req.kind == "purchaser":
        await _store_reports(conn, req, regions, replica, day, now)
    return Collected(
        subjects=sorted(regions),
        watch_ref=watch_ref,
        records_on=day,
        replica_as_of=as_of,
    )


async def _store_reports(
    conn: AsyncConnection, req: DraftRequest, regions: Mapping[str, str], replica: str, day: date, now: datetime
) -> None:
    """Per purchaser, the records made in the period on its reports (信用评级履职: whether it reported)."""
    first = date(int(req.period[:4]), 1, 1)
    reports = count_reports(await reported_by(conn, "purchaser", sorted(regions)), "purchaser", first, day)
    for subject, region in sorted(regions.items()):
        c = reports.get(subject)
        ids = c.record_ids if c else []
        ref = _ref(
            f"{replica}: reported by {subject}, recorded {first.isoformat()}..{day.isoformat()}: "
            + (", ".join(ids) if ids else "none")
        )
        await store_figures(
            conn, kind=req.kind, subject_id=subject, region=region, period=req.period,
            figures={"reports_made": len(ids)}, source="records", source_ref=ref, at=now,
        )  # fmt: skip


class FigureCollection:
    """The activity `collect_figures` (queue `evaluations-activities`)."""

    def __init__(self, engine: AsyncEngine, source: FigureSource) -> None:
        self.engine = engine
        self.source = source

    @activity.defn(name=COLLECT_FIGURES)
    async def collect_figures(self, req: DraftRequest) -> Collected:
        try:
            answer = await self.source.fetch(req.kind, req.region, req.period)
        except WatchUnavailable as exc:
            # Retryable: the workflow's policy retries until the watch answers (never a zero). Without the
            # cause's traceback (its text is in the message): Temporal keeps a pending activity's last
            # failure only under a size limit, and an HTTP client's chain of frames goes past it.
            raise ApplicationError(f"the watch's figures could not be read: {exc}", type="watch_unavailable") from None
        now = datetime.now().astimezone()
        async with self.engine.begin() as conn:
            return await collect(conn, req, answer, now=now)
