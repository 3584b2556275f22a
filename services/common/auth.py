"""Bearer JWTs, roles and region scoping (CONTRACT §2).

Locally tokens are HS256 with CREDIT_JWT_SECRET; when CREDIT_OIDC_DISCOVERY_URL or CREDIT_JWT_JWKS_URL
is set only RS256/ES256 tokens of the identity provider are accepted (services/common/oidc.py), so a
leaked development secret is useless in production.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.identifiers import division_covers, is_division_code
from services.common.oidc import ClaimNames, OidcError, OidcVerifier, ProviderUnavailable
from services.common.problems import Problem
from services.common.settings import get_settings
from services.common.text import is_storable

REQUIRED_CLAIMS = ("exp", "sub", "role", "org", "region")
# Clock skew allowed for tokens of the identity provider, whose clock is not ours. Local HS256 tokens
# are minted on this machine, so they get none and a token of ttl 0 is expired at once.
IDP_LEEWAY_SECONDS = 30
DEFAULT_TTL_SECONDS = 8 * 3600


class Role(StrEnum):
    FINANCE_OFFICER = "finance_officer"
    SUPERVISOR = "supervisor"
    PURCHASER = "purchaser"
    AGENCY = "agency"
    SUBJECT = "subject"
    # CONTRACT v1.1: operates the system (installs the State Council's holiday arrangement).
    ADMINISTRATOR = "administrator"


FINANCE_ROLES = frozenset({Role.FINANCE_OFFICER, Role.SUPERVISOR})


class _CallableBool(int):
    """A truth value that may also be called: `p.is_finance` and `p.is_finance()` both work.

    A plain method would make the easy slip `if p.is_finance:` always true, granting finance access
    to everyone; this shape makes both spellings correct.
    """

    def __call__(self) -> bool:
        return bool(self)

    def __repr__(self) -> str:
        return repr(bool(self))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `org` is its USCC, expert id or division code; `region` a division code."""

    sub: str
    role: Role
    org: str
    region: str

    @property
    def is_finance(self) -> _CallableBool:
        """A finance officer or supervisor; usable as `p.is_finance` or `p.is_finance()`."""
        return _CallableBool(self.role in FINANCE_ROLES)

    def covers_region(self, region: str) -> bool:
        """A finance department acts in its own region and those under it; nobody else has a region."""
        return bool(self.is_finance) and division_covers(self.region, region)


def _unauthorised(code: str, title: str, detail: str) -> Problem:
    problem = Problem(401, code, title, detail)
    # RFC 6750 §3: tell the client why its token was refused.
    problem.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{title}"'
    return problem


def _invalid(detail: str) -> Problem:
    return _unauthorised("invalid_token", "Invalid token", detail)


def mint_token(
    *,
    sub: str,
    role: Role | str,
    org: str,
    region: str,
    secret: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: datetime | None = None,
) -> str:
    """An HS256 token for local use (devtoken, tests, bench). ValueError for a role or region that
    decode_token would refuse, so a bad token fails where it is made."""
    role = Role(role)
    if not is_division_code(region):
        raise ValueError(f"region must be a 6-digit division code, got {region!r}")
    issued = int((now or datetime.now(UTC)).timestamp())
    claims = {
        "sub": sub,
        "role": role.value,
        "org": org,
        "region": region,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@lru_cache(maxsize=8)
def _verifier(
    jwks_url: str | None,
    discovery_url: str | None,
    audience: str | None,
    issuer: str | None,
    algorithms: tuple[str, ...] = ("RS256",),
    claims: ClaimNames = ClaimNames(),
    cache_seconds: float = 300.0,
    min_refetch_seconds: float = 10.0,
) -> OidcVerifier:
    # One per configuration: it caches the provider's keys (services/common/oidc.py).
    return OidcVerifier(
        jwks_url=jwks_url,
        discovery_url=discovery_url,
        audience=audience,
        issuer=issuer,
        algorithms=algorithms,
        claims=claims,
        cache_seconds=cache_seconds,
        min_refetch_seconds=min_refetch_seconds,
        leeway_seconds=IDP_LEEWAY_SECONDS,
    )


def decode_token(
    token: str,
    *,
    secret: str,
    jwks_url: str | None = None,
    audience: str | None = None,
    issuer: str | None = None,
    verifier: OidcVerifier | None = None,
    max_lifetime_seconds: int | None = None,
    now: datetime | None = None,
) -> Principal:
    """The Principal of a verified token; Problem 401 `token_expired` or `invalid_token` otherwise.

    With `verifier` (or `jwks_url`, RS256 only) the token must be signed by a key of the identity
    provider; else HS256 with `secret`. `aud` and `iss` are checked only when given.

    With `max_lifetime_seconds`, a token valid for longer than that — from `iat` to `exp`, or from
    now to `exp` — is refused (`invalid_token`): a leaked token must not work for a century.
    """
    if verifier is None and jwks_url:
        verifier = _verifier(jwks_url, None, audience, issuer)
    try:
        if verifier is not None:
            try:
                claims: dict[str, Any] = verifier.verify(token)
            except ProviderUnavailable as exc:
                raise Problem(
                    503,
                    "identity_provider_unavailable",
                    "Identity provider unavailable",
                    "The signing keys of the identity provider could not be fetched.",
                ) from exc
            except OidcError as exc:
                raise _invalid(f"The bearer token was refused: {exc}") from None
        else:
            options: jwt.types.Options = {"require": list(REQUIRED_CLAIMS), "verify_aud": audience is not None}
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], options=options, audience=audience, issuer=issuer, leeway=0
            )
    except jwt.ExpiredSignatureError:
        raise _unauthorised("token_expired", "Token expired", "The bearer token has expired.") from None
    except jwt.PyJWTError as exc:
        raise _invalid(f"The bearer token was refused: {exc}") from None
    if max_lifetime_seconds is not None:
        _check_lifetime(claims, max_lifetime_seconds, now or datetime.now(UTC))
    return _principal_from_claims(claims)


def _check_lifetime(claims: dict[str, Any], limit: int, now: datetime) -> None:
    exp = claims.get("exp")
    iat = claims.get("iat")
    start = iat if isinstance(iat, int | float) and iat <= now.timestamp() + 60 else now.timestamp()
    if isinstance(exp, int | float) and exp - start > limit:
        raise _invalid(f"The bearer token is valid for longer than {limit} seconds; ask for a shorter-lived one.")


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    values: dict[str, str] = {}
    for name in ("sub", "role", "org", "region"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise _invalid(f"Claim '{name}' must be a non-empty string.")
        if not is_storable(value):
            # A claim becomes an event's source, an audit's actor: the one rule of services.common.text.
            raise _invalid(f"Claim '{name}' holds a character that cannot be stored (NUL or a lone surrogate).")
        values[name] = value
    try:
        role = Role(values["role"])
    except ValueError:
        raise _invalid(f"Unknown role {values['role']!r}.") from None
    region = values["region"]
    if not is_division_code(region):
        raise _invalid(f"Claim 'region' is not an administrative division code: {region!r}.")
    return Principal(sub=values["sub"], role=role, org=values["org"], region=region)


# Declared so /openapi.json documents the Bearer scheme; it never raises (auto_error=False), the
# header is read and judged below.
_bearer_scheme = HTTPBearer(auto_error=False, description="JWT with claims sub, role, org, region")


def _uses_provider(settings: Any) -> bool:
    return bool(settings.credit_jwt_jwks_url or settings.credit_oidc_discovery_url)


def _decode_with_settings(token: str) -> Principal:
    s = get_settings()
    verifier = None
    if _uses_provider(s):
        verifier = _verifier(
            s.credit_jwt_jwks_url,
            s.credit_oidc_discovery_url,
            s.credit_jwt_audience,
            s.credit_jwt_issuer,
            tuple(s.jwt_algorithms()),
            ClaimNames(
                s.credit_jwt_claim_sub, s.credit_jwt_claim_role, s.credit_jwt_claim_org, s.credit_jwt_claim_region
            ),
            s.credit_jwks_cache_seconds,
            s.credit_jwks_min_refetch_seconds,
        )
    return decode_token(
        token,
        secret=s.credit_jwt_secret,
        audience=s.credit_jwt_audience,
        issuer=s.credit_jwt_issuer,
        verifier=verifier,
        max_lifetime_seconds=s.credit_jwt_max_lifetime_seconds,
    )


async def optional_principal(
    request: Request,
    _credentials: HTTPAuthorizationCredentials | None = Security(_bearer_scheme),
) -> Principal | None:
    """The caller, or None for the public (no Authorization header). A header that is present but
    not a valid Bearer token is a 401: a broken client must not silently be served as the public."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise _invalid("The Authorization header must be 'Bearer <token>'.")
    if _uses_provider(get_settings()):
        # Fetching the key set is blocking network I/O: keep it off the event loop.
        return await asyncio.to_thread(_decode_with_settings, token)
    return _decode_with_settings(token)


def require_roles(*roles: Role | str) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller if its role is one of `roles`: 401 without a token, 403 otherwise.

    ValueError at import time for an empty list or an unknown role name, so a typo cannot open or
    close an endpoint by accident.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(Role(r) for r in roles)

    async def dependency(principal: Principal | None = Depends(optional_principal)) -> Principal:
        if principal is None:
            raise Problem(401, "unauthenticated", "Authentication required", "Send 'Authorization: Bearer <token>'.")
        if principal.role not in allowed:
            raise Problem(403, "forbidden", "Forbidden", f"Role '{principal.role}' may not perform this request.")
        return principal

    return dependency
