"""A local identity provider for tests: an OpenID discovery document and a JWKS served over HTTP
from generated RS256 and ES256 keys, whose key set can be rotated while it runs."""

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def new_key(alg: str = "RS256") -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.ECAlgorithm if alg == "ES256" else jwt.algorithms.RSAAlgorithm
    return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": alg}


class LocalIdp:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {}  # kid -> (private key, alg): the published set
        self.jwks_requests = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": idp.issuer, "jwks_uri": f"{idp.url}/jwks.json"}
                elif self.path == "/jwks.json":
                    idp.jwks_requests += 1
                    body = {"keys": [_public_jwk(k, kid, alg) for kid, (k, alg) in list(idp.keys.items())]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.issuer = f"{self.url}/realms/finance"
        self.discovery_url = f"{self.url}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LocalIdp":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def publish(self, kid: str, alg: str = "RS256", key: Any = None) -> Any:
        key = key or new_key(alg)
        self.keys[kid] = (key, alg)
        return key

    def retire(self, kid: str) -> None:
        self.keys.pop(kid)

    def token(
        self,
        key: Any,
        kid: str,
        *,
        alg: str = "RS256",
        audience: str = "credit-system",
        issuer: str | None = None,
        ttl: int = 600,
        **claims: Any,
    ) -> str:
        now = int(datetime.now(UTC).timestamp())
        body = {
            "sub": "officer-1",
            "role": "finance_officer",
            "org": "410300",
            "region": "410300",
            "iss": issuer or self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})
