"""Tokens of an OpenID Connect identity provider (issue 18): discovery, RS256 and ES256, issuer and
audience checks, the provider's signing keys cached and rotated, its claims mapped to the system's
`sub`, `role`, `org`, `region`.

Keys: the key set is fetched once and kept `cache_seconds`; a token whose `kid` is not in it makes
one refetch at once (a key the provider just rotated in works immediately), at most every
`min_refetch_seconds` (a flood of made-up kids cannot hammer the provider). After a refetch a key the
provider removed (rotated out) is gone, and its tokens are refused.

Blocking (httpx sync): called from a worker thread (auth.optional_principal).
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})


class OidcError(Exception):
    """The token is refused (message says why)."""


class ProviderUnavailable(Exception):
    """The discovery document or the key set could not be fetched."""


@dataclass(frozen=True)
class ClaimNames:
    sub: str = "sub"
    role: str = "role"
    org: str = "org"
    region: str = "region"


@dataclass
class OidcVerifier:
    jwks_url: str | None = None
    discovery_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    claims: ClaimNames = field(default_factory=ClaimNames)
    cache_seconds: float = 300.0
    min_refetch_seconds: float = 10.0
    leeway_seconds: int = 30
    timeout_seconds: float = 5.0
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, init=False, repr=False)
    _fetched_at: float = field(default=float("-inf"), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if bool(self.jwks_url) == bool(self.discovery_url):
            raise ValueError("give exactly one of jwks_url and discovery_url")
        if not self.algorithms or not set(self.algorithms) <= ALLOWED_ALGORITHMS:
            raise ValueError(f"algorithms must be among {sorted(ALLOWED_ALGORITHMS)}")

    # -- keys ---------------------------------------------------------------------------------
    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout_seconds, trust_env=False)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {exc}") from exc

    def _discover(self) -> None:
        doc = self._get(str(self.discovery_url))
        if not isinstance(doc.get("jwks_uri"), str) or not isinstance(doc.get("issuer"), str):
            raise ProviderUnavailable("the discovery document names no jwks_uri or issuer")
        if self.issuer and self.issuer != doc["issuer"]:
            raise ProviderUnavailable(f"the provider's issuer {doc['issuer']!r} is not {self.issuer!r}")
        self.jwks_url, self.issuer = doc["jwks_uri"], doc["issuer"]

    def _refresh(self) -> None:
        if self.jwks_url is None:
            self._discover()
        keyset = self._get(str(self.jwks_url))
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in keyset.get("keys", []):
            if jwk.get("use", "sig") != "sig" or not jwk.get("kid"):
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type we do not use (e.g. an encryption key): not a signing key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def signing_key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self.cache_seconds or (kid not in self._keys and age > self.min_refetch_seconds):
                self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise OidcError(f"no signing key {kid!r} at the identity provider")
        return key

    # -- tokens -------------------------------------------------------------------------------
    def verify(self, token: str) -> dict[str, str]:
        """The system's claims (`sub`, `role`, `org`, `region`, as strings or missing) of a valid
        token; OidcError, jwt.ExpiredSignatureError or ProviderUnavailable otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise OidcError(f"not a JWT: {exc}") from None
        if header.get("alg") not in self.algorithms:
            raise OidcError(f"algorithm {header.get('alg')!r} is not accepted")
        if not header.get("kid"):
            raise OidcError("the token names no key (kid)")
        key = self.signing_key(header["kid"])
        try:
            raw = jwt.decode(
                token,
                key.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise
        except jwt.PyJWTError as exc:
            raise OidcError(str(exc)) from None
        names = self.claims
        return {
            ours: raw[theirs]
            for ours, theirs in (("sub", names.sub), ("role", names.role), ("org", names.org), ("region", names.region))
            if theirs in raw
        }
