"""Service-to-service calls inside the system (not through the gateway): a short-lived HS256
token signed with the shared `CREDIT_JWT_SECRET` (required outside development), for the audience
`credit-internal` only.

Why not a user token: the appeal and repair services ask the evaluation service about a record on
behalf of an applicant who may not be its subject, and the public records API answers "no record"
to anyone else (ids cannot be probed) — the service would then be unable to tell another subject's
objection (403) from a wrong id (404). Why not the identity provider: it issues tokens to people;
this secret is already shared by every process. A service token carries no role, so the public
endpoints refuse it (`role` is a required claim), and a user token has no `aud`, so the internal
ones refuse it."""

from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import Header

from services.common.problems import Problem
from services.common.settings import get_settings

AUDIENCE = "credit-internal"
TTL_SECONDS = 300


def mint_service_token(service: str, *, secret: str, now: datetime | None = None) -> str:
    issued = int((now or datetime.now(UTC)).timestamp())
    claims = {"sub": f"service:{service}", "aud": AUDIENCE, "iat": issued, "exp": issued + TTL_SECONDS}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_service_token(token: str, *, secret: str) -> str:
    """The calling service's name; Problem 401 for anything else."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["exp", "sub", "aud"]}
        )
    except jwt.PyJWTError as exc:
        raise Problem(401, "invalid_token", "Invalid service token", str(exc)) from None
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.startswith("service:"):
        raise Problem(401, "invalid_token", "Invalid service token", "not a service")
    return sub.removeprefix("service:")


async def require_service(authorization: Annotated[str | None, Header()] = None) -> str:
    """FastAPI dependency of the internal endpoints: the calling service's name."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "invalid_token", "Service token required", "Authorization: Bearer <service token>")
    return verify_service_token(token, secret=get_settings().credit_jwt_secret)
