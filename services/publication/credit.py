"""The public credit answer as bytes: the hottest read of the system (purchasers check a
supplier before every award; target p99 ≤ 10 ms at 500 requests/s on two cores).

One primary-key read of the answer precomputed by credit_answers.py; in PostgreSQL on a plain asyncpg pool
(no ORM, no transaction), and served by `CreditFastPath` before FastAPI's routing. The FastAPI
route in api.py answers the same bytes and documents the endpoint in OpenAPI."""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.db import SERVER_SETTINGS
from services.common.identifiers import is_division_code, normalise_subject_id, validate_subject_id
from services.common.lawdates import local_date
from services.common.outages import OUTAGE, database_unavailable, unavailable_problem
from services.common.policy import NoPolicy
from services.common.problems import Problem, problem_response
from services.common.tables import table_of
from services.publication import goodcredit
from services.publication.credit_answers import credit_view
from services.publication.models import PublicCreditView
from services.publication.summary import summary_zh

VIEWS_T = table_of(PublicCreditView)
SUBJECT_TYPES = frozenset({"supplier", "agency", "expert", "purchaser"})
PG_QUERY = (
    'SELECT body, guarantee_blocked, guarantee_after, bond_reduction_percent FROM "publication_credit_view"'
    " WHERE subject_key = $1"
)
COLUMNS = ("body", "guarantee_blocked", "guarantee_after", "bond_reduction_percent")


class CreditReader:
    def __init__(self, engine: AsyncEngine, pool: asyncpg.Pool | None) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pool = pool

    @classmethod
    async def open(cls, engine: AsyncEngine, connect_args: Mapping[str, Any] | None = None) -> "CreditReader":
        """`connect_args`: the service engine's (Settings.database_connect_args: `ssl=` for
        DATABASE_SSLMODE), so the reader's own pool connects as securely as the engine does."""
        pool = None
        if engine.dialect.name == "postgresql":
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = await asyncpg.create_pool(
                dsn,
                min_size=2,
                max_size=10,
                statement_cache_size=16,
                server_settings=SERVER_SETTINGS,
                **dict(connect_args or {}),
            )
        return cls(engine, pool)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def answer(self, subject_type: str, subject_id: str, region: str | None = None) -> bytes:
        """The JSON body of GET /v1/credit/{type}/{id}[?region=]; Problem for an invalid identifier.
        `region` is the project's (the purchaser's): its policy says what good credit earns. A code
        written in lower case or full width is read as the code it is (`normalise_subject_id`)."""
        subject_id = normalise_subject_id(subject_type, subject_id)
        if subject_type not in SUBJECT_TYPES or not validate_subject_id(subject_type, subject_id):
            raise Problem(
                422, "invalid_identifier", "Invalid identifier", f"{subject_id!r} is not a valid {subject_type} id"
            )
        if region is not None and not is_division_code(region):
            raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
        key = f"{subject_type}:{subject_id}"
        row: asyncpg.Record | Row[*tuple[Any, ...]] | None
        if self._pool is not None:
            row = await self._pool.fetchrow(PG_QUERY, key)
        else:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(select(*[VIEWS_T.c[c] for c in COLUMNS]).where(VIEWS_T.c.subject_key == key))
                ).first()
        today = local_date(datetime.now(UTC))
        known = row is not None
        if row is None:
            # Never heard of (no record, no status, ever): say so rather than "good" (issue 21).
            view = credit_view(subject_type, subject_id, {"status": "no_record"}, [])
            good: dict[str, Any] = (
                goodcredit.clean_supplier(subject_id, today) if subject_type == "supplier" else goodcredit.NOT_SUPPLIER
            )
            blocked, after, bond = good["guarantee_blocked"], good["guarantee_after"], good["bond_reduction_percent"]
        else:
            view, blocked, after, bond = orjson.loads(row[0]), row[1], row[2], row[3]
        return orjson.dumps(served(view, today, region, known, blocked, after, bond))


def served(view: dict, today: date, region: str | None, known: bool, blocked: bool, after: date | None,
           bond: int | None) -> dict:  # fmt: skip
    """The stored answer completed with what depends on the day: good credit (000 §三.2) and the
    one-line Chinese summary (issue 22)."""
    until = max((r["valid_until"] for r in view["records_in_force"]), default=None)
    good = goodcredit.good_credit(
        blocked, after, bond, today, region, known, date.fromisoformat(until) if until else None
    )
    if good is not None:
        view["good_credit"] = good
    view["known"] = known
    view["as_of"] = today.isoformat()
    view["summary_zh"] = summary_zh(view)
    return view


def is_credit_status(method: str, path: str) -> bool:
    """`GET /v1/credit/{type}/{id}` (not the consortium, search or receipt reads)."""
    if method != "GET" or not path.startswith("/v1/credit/"):
        return False
    parts = path.split("/")
    return len(parts) == 5 and parts[3] in SUBJECT_TYPES


async def serve_credit_status(reader: CreditReader, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer `GET /v1/credit/{type}/{id}[?region=]` from the read model: the answer, or its problem
    (invalid identifier, no policy for the region, the database not answering). Publication serves
    it before FastAPI's routing, and the gateway the same way without a hop to publication."""
    path: str = scope["path"]
    parts = path.split("/")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    region = query.get("region", [None])[0]
    lang = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
    try:
        body = await reader.answer(parts[3], parts[4], region)
    except NoPolicy as exc:
        problem = Problem(422, "no_policy", "No credit policy for the region", str(exc), region=exc.region)
        await problem_response(problem, path, lang)(scope, receive, send)
        return
    except Problem as problem:
        await problem_response(problem, path, lang)(scope, receive, send)
        return
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # Before FastAPI's routing, so its outage handler is not in the way: same answer.
        OUTAGE.failed("GET /v1/credit", exc)
        await problem_response(unavailable_problem(), path, lang)(scope, receive, send)
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CreditFastPath:
    """ASGI middleware answering `GET /v1/credit/{type}/{id}` directly; everything else goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_credit_status(scope["method"], scope["path"]):
            reader: CreditReader | None = getattr(scope["app"].state, "credit_reader", None)
            if reader is not None:
                await serve_credit_status(reader, scope, receive, send)
                return
        await self.app(scope, receive, send)
