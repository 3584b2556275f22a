"""Tokens of an identity provider (issue 18): discovery, RS256 and ES256, issuer and audience, key
caching and rotation, claim mapping; a local provider over HTTP."""

from collections.abc import Iterator

import pytest

from services.common.auth import decode_token
from services.common.oidc import ClaimNames, OidcError, OidcVerifier, ProviderUnavailable
from services.common.problems import Problem
from tests.support.idp import LocalIdp, new_key

SECRET = "unit-test-secret-0123456789abcdef-0123456789"
AUD = "credit-system"


@pytest.fixture
def idp() -> Iterator[LocalIdp]:
    with LocalIdp() as provider:
        yield provider


def verifier(idp: LocalIdp, **kw: object) -> OidcVerifier:
    options: dict = {"discovery_url": idp.discovery_url, "audience": AUD, "min_refetch_seconds": 0}
    return OidcVerifier(**{**options, **kw})


def refused(tok: str, v: OidcVerifier) -> Problem:
    with pytest.raises(Problem) as info:
        decode_token(tok, secret=SECRET, verifier=v)
    return info.value


def test_rs256_and_es256_through_discovery(idp: LocalIdp) -> None:
    rsa_key, ec_key = idp.publish("rsa-1"), idp.publish("ec-1", "ES256")
    v = verifier(idp)
    assert decode_token(idp.token(rsa_key, "rsa-1"), secret=SECRET, verifier=v).sub == "officer-1"
    p = decode_token(idp.token(ec_key, "ec-1", alg="ES256", sub="o2"), secret=SECRET, verifier=v)
    assert (p.sub, p.role, p.region) == ("o2", "finance_officer", "410300")
    assert v.issuer == idp.issuer and v.jwks_url == f"{idp.url}/jwks.json"


def test_issuer_audience_and_algorithm_checked(idp: LocalIdp) -> None:
    key = idp.publish("k1")
    v = verifier(idp)
    assert refused(idp.token(key, "k1", audience="another-app"), v).code == "invalid_token"
    assert refused(idp.token(key, "k1", issuer="https://evil.example/"), v).code == "invalid_token"
    assert refused(idp.token(key, "k1", ttl=-120), v).code == "token_expired"
    # ES256 only: an RS256 token is refused whatever its key.
    assert refused(idp.token(key, "k1"), verifier(idp, algorithms=("ES256",))).code == "invalid_token"
    # HS256 (the development secret) is never taken from a provider's configuration.
    with pytest.raises(ValueError):
        verifier(idp, algorithms=("HS256",))


def test_key_rotation_and_caching(idp: LocalIdp) -> None:
    old = idp.publish("2026-01")
    v = verifier(idp, min_refetch_seconds=0, cache_seconds=3600)
    decode_token(idp.token(old, "2026-01"), secret=SECRET, verifier=v)
    decode_token(idp.token(old, "2026-01"), secret=SECRET, verifier=v)
    assert idp.jwks_requests == 1  # cached
    # The provider rotates: a new key is published, the old one withdrawn.
    new = idp.publish("2026-02")
    idp.retire("2026-01")
    # A token of the new key is taken at once (its unknown kid triggers one refetch)...
    assert decode_token(idp.token(new, "2026-02"), secret=SECRET, verifier=v).sub == "officer-1"
    assert idp.jwks_requests == 2
    # ...and after that refetch the rotated-out key is refused, as is a key never published.
    assert refused(idp.token(old, "2026-01"), v).code == "invalid_token"
    assert refused(idp.token(new_key(), "stranger"), v).code == "invalid_token"
    # A forged token claiming the new key's id but signed by another key fails the signature.
    assert refused(idp.token(new_key(), "2026-02"), v).code == "invalid_token"


def test_unknown_kids_do_not_hammer_the_provider(idp: LocalIdp) -> None:
    idp.publish("k1")
    v = verifier(idp, min_refetch_seconds=60)
    for i in range(5):
        with pytest.raises(OidcError):
            v.verify(idp.token(new_key(), f"made-up-{i}"))
    assert idp.jwks_requests == 1


def test_claim_names_mapped(idp: LocalIdp) -> None:
    key = idp.publish("k1")
    names = ClaimNames(sub="preferred_username", role="credit_role", org="credit_org", region="division")
    tok = idp.token(
        key, "k1", preferred_username="wang.li", credit_role="supervisor", credit_org="410000", division="410000"
    )
    p = decode_token(tok, secret=SECRET, verifier=verifier(idp, claims=names))
    assert (p.sub, p.role, p.org, p.region) == ("wang.li", "supervisor", "410000", "410000")
    # With the default names the same token lacks `role` of a known kind.
    assert refused(idp.token(key, "k1", role=None), verifier(idp)).code == "invalid_token"


def test_provider_down_is_503() -> None:
    v = OidcVerifier(discovery_url="http://127.0.0.1:9/.well-known/openid-configuration", timeout_seconds=0.5)
    with LocalIdp() as elsewhere:
        tok = elsewhere.token(new_key(), "k1")
    with pytest.raises(ProviderUnavailable):
        v.verify(tok)
    assert refused(tok, v).status == 503
