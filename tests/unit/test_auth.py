"""JWT roles and region scoping (CONTRACT §2)."""

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.common import auth, devtoken
from services.common.auth import (
    Principal,
    Role,
    decode_token,
    mint_token,
    optional_principal,
    require_roles,
)
from services.common.problems import Problem, install_problem_handlers
from services.common.settings import PROJECT_ROOT, Settings

SECRET = "unit-test-secret-0123456789abcdef-0123456789"


def token(role: str = "finance_officer", region: str = "410300", **kw: Any) -> str:
    return mint_token(sub="alice", role=role, org=region, region=region, secret=SECRET, **kw)


def raw_token(claims: dict[str, Any]) -> str:
    base = {"sub": "alice", "role": "purchaser", "org": "91350100M000100Y43", "region": "410300"}
    base["exp"] = int(datetime.now(UTC).timestamp()) + 600
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


def refused(tok: str, **kw: Any) -> Problem:
    with pytest.raises(Problem) as info:
        decode_token(tok, secret=SECRET, **kw)
    return info.value


# --- principal ----------------------------------------------------------------------------------


def test_principal_finance_and_regions() -> None:
    officer = Principal(sub="a", role=Role.FINANCE_OFFICER, org="410300", region="410300")
    assert officer.is_finance and officer.is_finance()
    assert officer.covers_region("410300") and officer.covers_region("410322")
    assert not officer.covers_region("410000") and not officer.covers_region("410100")
    supervisor = Principal(sub="s", role=Role.SUPERVISOR, org="410000", region="410000")
    assert supervisor.is_finance() and supervisor.covers_region("410322")


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.AGENCY, Role.SUBJECT])
def test_non_finance_roles_cover_nothing(role: Role) -> None:
    p = Principal(sub="p", role=role, org="91350100M000100Y43", region="410300")
    # Both spellings must be false: `if p.is_finance:` is an easy slip for a method.
    assert not p.is_finance
    assert p.is_finance() is False
    assert not p.covers_region("410300")


# --- tokens -------------------------------------------------------------------------------------


def test_round_trip() -> None:
    p = decode_token(token(), secret=SECRET)
    assert p == Principal(sub="alice", role=Role.FINANCE_OFFICER, org="410300", region="410300")
    assert isinstance(p.role, Role)


def test_claims_and_lifetime() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    options = {"verify_exp": False, "verify_iat": False}
    claims = jwt.decode(token(now=now), SECRET, algorithms=["HS256"], options=options)
    assert set(claims) == {"sub", "role", "org", "region", "iat", "exp"}
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert claims["iat"] == int(now.timestamp())


def test_expired() -> None:
    problem = refused(token(now=datetime.now(UTC) - timedelta(hours=9)))
    assert (problem.status, problem.code) == (401, "token_expired")


def test_wrong_secret() -> None:
    problem = refused(mint_token(sub="a", role="agency", org="x", region="410300", secret="other" * 8))
    assert (problem.status, problem.code) == (401, "invalid_token")
    assert problem.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "admin"},
        {"role": None},
        {"region": "999999"},
        {"region": "4103"},
        {"org": ""},
        {"sub": 42},
        # A NUL in a signed claim would become an event's source or an audit's actor: a 500 later.
        {"org": "91410300\x00MA44"},
        {"sub": "officer\ud800"},
    ],
)
def test_bad_claims(claims: dict[str, Any]) -> None:
    assert refused(raw_token(claims)).code == "invalid_token"


@pytest.mark.parametrize("missing", ["exp", "sub", "role", "org", "region"])
def test_missing_claims(missing: str) -> None:
    tok = raw_token({})
    claims = jwt.decode(tok, SECRET, algorithms=["HS256"])
    del claims[missing]
    assert refused(jwt.encode(claims, SECRET, algorithm="HS256")).code == "invalid_token"


def test_garbage_and_alg_none() -> None:
    assert refused("not-a-jwt").code == "invalid_token"
    unsigned = jwt.encode({"sub": "a", "role": "supervisor", "org": "1", "region": "410000"}, None, "none")
    assert refused(unsigned).code == "invalid_token"


def test_mint_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(ValueError):
        mint_token(sub="a", role="admin", org="x", region="410300", secret=SECRET)
    with pytest.raises(ValueError):
        mint_token(sub="a", role="agency", org="x", region="41030", secret=SECRET)


# --- RS256 via JWKS -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


def rs256(rsa_key: rsa.RSAPrivateKey, kid: str = "k1", **extra: Any) -> str:
    claims = {"sub": "bob", "role": "supervisor", "org": "410000", "region": "410000"}
    claims["exp"] = int(datetime.now(UTC).timestamp()) + 600
    return jwt.encode({**claims, **extra}, rsa_key, algorithm="RS256", headers={"kid": kid})


def test_rs256_with_jwks(rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    p = decode_token(rs256(rsa_key), secret=SECRET, jwks_url=jwks_url)
    assert p.role is Role.SUPERVISOR and p.region == "410000"


def test_jwks_refuses_hs256_and_unknown_keys(rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    assert refused(token(), jwks_url=jwks_url).code == "invalid_token"
    assert refused(rs256(rsa_key, kid="unknown"), jwks_url=jwks_url).code == "invalid_token"


def test_jwks_audience(rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    tok = rs256(rsa_key, aud="credit")
    # Unchecked when no audience is configured; checked when one is.
    assert decode_token(tok, secret=SECRET, jwks_url=jwks_url).sub == "bob"
    assert decode_token(tok, secret=SECRET, jwks_url=jwks_url, audience="credit").sub == "bob"
    assert refused(tok, jwks_url=jwks_url, audience="other").code == "invalid_token"


# --- FastAPI dependencies -----------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    s = Settings(credit_jwt_secret=SECRET, credit_jwt_jwks_url=None)
    monkeypatch.setattr(auth, "get_settings", lambda: s)
    monkeypatch.setattr(devtoken, "get_settings", lambda: s)
    return s


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/public")
    async def public(p: Principal | None = Depends(optional_principal)) -> dict[str, str | None]:
        return {"role": p.role if p else None}

    @app.get("/finance")
    async def finance(
        p: Principal = Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR)),
    ) -> dict[str, str]:
        return {"sub": p.sub}

    return TestClient(app)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_optional_principal(client: TestClient) -> None:
    assert client.get("/public").json() == {"role": None}
    assert client.get("/public", headers=bearer(token("agency"))).json() == {"role": "agency"}


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer a b", "Bearer xyz"])
def test_malformed_authorization_is_401(client: TestClient, header: str) -> None:
    r = client.get("/public", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_require_roles(client: TestClient) -> None:
    r = client.get("/finance")
    assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/finance", headers=bearer(token("purchaser")))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert client.get("/finance", headers=bearer(token("supervisor"))).json() == {"sub": "alice"}
    expired = token(now=datetime.now(UTC) - timedelta(days=1))
    r = client.get("/finance", headers=bearer(expired))
    assert (r.status_code, r.json()["code"]) == (401, "token_expired")


def test_require_roles_refuses_typos() -> None:
    with pytest.raises(ValueError):
        require_roles()
    with pytest.raises(ValueError):
        require_roles("finance")


def test_openapi_documents_bearer(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


# --- devtoken -----------------------------------------------------------------------------------


def test_devtoken(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--role", "finance_officer", "--org", "410300", "--region", "410300", "--sub", "alice"]
    assert devtoken.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    p = decode_token(out.strip(), secret=SECRET)
    assert p == Principal(sub="alice", role=Role.FINANCE_OFFICER, org="410300", region="410300")


def test_devtoken_ttl(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    devtoken.main(["--role", "subject", "--org", "EXP-1", "--region", "410300", "--ttl", "60"])
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


def test_devtoken_refuses_bad_region(settings: Settings) -> None:
    with pytest.raises(SystemExit):
        devtoken.main(["--role", "agency", "--org", "x", "--region", "12"])


def test_dependency_with_jwks(monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    s = Settings(credit_jwt_secret=SECRET, credit_jwt_jwks_url=jwks_url)
    monkeypatch.setattr(auth, "get_settings", lambda: s)
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/finance")
    async def finance(p: Principal = Depends(require_roles("supervisor"))) -> dict[str, str]:
        return {"sub": p.sub}

    c = TestClient(app)
    assert c.get("/finance", headers=bearer(rs256(rsa_key))).json() == {"sub": "bob"}
    # With a JWKS configured the local HS256 secret is worthless.
    assert c.get("/finance", headers=bearer(token("supervisor"))).status_code == 401


def test_devtoken_as_a_module() -> None:
    argv = [sys.executable, "-m", "services.common.devtoken", "--role", "agency", "--org", "x", "--region", "410300"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    p = decode_token(done.stdout.strip(), secret=Settings().credit_jwt_secret)
    assert (p.role, p.sub) == (Role.AGENCY, "agency@x")
