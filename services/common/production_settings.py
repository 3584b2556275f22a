"""The settings a production deployment sets (issue 18): Kafka SASL_SSL (SCRAM) or mutual TLS,
Temporal TLS / API key, PostgreSQL TLS and pool, the identity provider (OIDC), the payload codec,
JSON logs and the Temporal SDK's metrics. Every one defaults to what a laptop needs, so
`bash deploy/run.sh` is unchanged; `CREDIT_ENV=production` refuses to start without the secure
ones (check_consistency). Documented in README "Production settings" (a unit test keeps the
table and these fields equal)."""

import base64
import binascii
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings

PRODUCTION = "production"


class ProductionSettings(BaseSettings):
    # --- Kafka ---------------------------------------------------------------------------------
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    # CA of the brokers' certificates; with SSL also this client's certificate and key (mutual TLS).
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # Whether a service creates missing topics at start (the local runner's broker has none). Unset:
    # yes in development, no elsewhere; production refuses yes (topics are KafkaTopic resources).
    kafka_create_topics: bool | None = None
    # --- Temporal ------------------------------------------------------------------------------
    temporal_tls: bool = False
    temporal_tls_ca_file: Path | None = None
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: str | None = None
    # host:port where the Temporal SDK serves its worker metrics (Prometheus); unset: not served.
    temporal_metrics_bind: str | None = None
    # --- PostgreSQL ----------------------------------------------------------------------------
    database_sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "disable"
    database_ssl_root_cert: Path | None = None
    # Connections opened beyond database_pool_size under a burst; unset: as many as the pool.
    database_max_overflow: int | None = Field(None, ge=0)
    database_pool_timeout_seconds: float = Field(30.0, gt=0)
    # --- identity provider ---------------------------------------------------------------------
    # The provider's OpenID discovery document (…/.well-known/openid-configuration): gives the JWKS
    # URL and the issuer. CREDIT_JWT_JWKS_URL (Settings) may name the key set directly instead.
    credit_oidc_discovery_url: str | None = None
    credit_jwt_issuer: str | None = None
    credit_jwt_audience: str | None = None
    credit_jwt_algorithms: str = "RS256,ES256"
    # How long fetched signing keys are trusted; a token with an unknown key id refetches at once
    # (at most every credit_jwks_min_refetch_seconds), so a rotated-in key works immediately.
    credit_jwks_cache_seconds: int = Field(300, ge=0)
    credit_jwks_min_refetch_seconds: float = Field(10.0, ge=0)
    # The provider's claim names for the system's sub, role, org and region.
    credit_jwt_claim_sub: str = "sub"
    credit_jwt_claim_role: str = "role"
    credit_jwt_claim_org: str = "org"
    credit_jwt_claim_region: str = "region"
    # --- Temporal payload codec (personal data in histories) ------------------------------------
    # AES-GCM key (base64 of 16/24/32 bytes) encrypting workflow payloads; unset: payloads in clear.
    credit_payload_key: str | None = None
    credit_payload_key_id: str = "k1"
    # Earlier keys still decrypting old histories after a rotation: "id:base64key,id:base64key".
    credit_payload_old_keys: str | None = None
    # Origins of the Temporal Web UI allowed to call the codec server from the browser (comma-separated).
    credit_codec_cors_origins: str = ""
    # --- metrics -------------------------------------------------------------------------------
    # How often the gauges read from the database (outbox backlog, tasks, pushes, checkpoint) refresh.
    credit_metrics_sample_seconds: float = Field(15.0, gt=0)
    # --- logs ----------------------------------------------------------------------------------
    # JSON lines (one object per log line, with the correlation id); unset: JSON outside development.
    log_json: bool | None = None

    # ------------------------------------------------------------------------------------------
    def creates_topics(self) -> bool:
        if self.kafka_create_topics is not None:
            return self.kafka_create_topics
        return getattr(self, "credit_env", "development") == "development"

    def logs_json(self) -> bool:
        return self.log_json if self.log_json is not None else getattr(self, "credit_env", "") != "development"

    def jwt_algorithms(self) -> list[str]:
        return [a.strip() for a in self.credit_jwt_algorithms.split(",") if a.strip()]

    def kafka_ssl_context(self) -> ssl.SSLContext | None:
        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        ctx = ssl.create_default_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
        if self.kafka_ssl_certfile and self.kafka_ssl_keyfile:
            ctx.load_cert_chain(str(self.kafka_ssl_certfile), str(self.kafka_ssl_keyfile))
        return ctx

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin clients."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {
            "security_protocol": self.kafka_security_protocol,
            "ssl_context": self.kafka_ssl_context(),
        }
        if self.kafka_security_protocol == "SASL_SSL":
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.kafka_sasl_password,
            }
        return options

    def kafka_broker_security(self) -> Any:
        """The FastStream broker's `security=`, or None in plain text."""
        from faststream.security import BaseSecurity, SASLScram256, SASLScram512

        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        ctx = self.kafka_ssl_context()
        if self.kafka_security_protocol == "SSL":
            return BaseSecurity(ssl_context=ctx, use_ssl=True)
        scram = SASLScram512 if self.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
        return scram(str(self.kafka_sasl_username), str(self.kafka_sasl_password), ssl_context=ctx, use_ssl=True)

    def temporal_tls_config(self) -> Any:
        """`tls=` of temporalio's Client.connect: False, or a TLSConfig."""
        from temporalio.service import TLSConfig

        if not self.temporal_tls:
            return False

        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path else None

        return TLSConfig(
            server_root_ca_cert=read(self.temporal_tls_ca_file),
            client_cert=read(self.temporal_tls_cert_file),
            client_private_key=read(self.temporal_tls_key_file),
            domain=self.temporal_tls_server_name,
        )

    def database_connect_args(self) -> dict[str, Any]:
        """asyncpg's `ssl=` for the chosen sslmode (libpq's meanings)."""
        if self.database_sslmode == "disable":
            return {}
        cafile = str(self.database_ssl_root_cert) if self.database_ssl_root_cert else None
        ctx = ssl.create_default_context(cafile=cafile)
        if self.database_sslmode == "require":
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.database_sslmode == "verify-ca":
            ctx.check_hostname = False
        return {"ssl": ctx}

    def payload_keys(self) -> dict[str, bytes]:
        """Key id -> AES key: the current key first, then the earlier ones."""
        keys: dict[str, bytes] = {}
        if self.credit_payload_key:
            keys[self.credit_payload_key_id] = _aes_key(self.credit_payload_key, self.credit_payload_key_id)
        for item in (self.credit_payload_old_keys or "").split(","):
            if item.strip():
                key_id, sep, value = item.strip().partition(":")
                if not sep or not key_id:
                    raise ValueError("CREDIT_PAYLOAD_OLD_KEYS must be 'id:base64key,…'")
                keys.setdefault(key_id, _aes_key(value, key_id))
        return keys


def _aes_key(value: str, key_id: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"payload key {key_id!r} is not base64") from None
    if len(key) not in (16, 24, 32):
        raise ValueError(f"payload key {key_id!r} must be 16, 24 or 32 bytes, not {len(key)}")
    return key


def check_consistency(s: Any) -> None:
    """ValueError (the process refuses to start) for settings that contradict each other, and in
    production for anything insecure."""
    problems: list[str] = []
    if s.kafka_security_protocol == "SASL_SSL" and not (s.kafka_sasl_username and s.kafka_sasl_password):
        problems.append("KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    if bool(s.kafka_ssl_certfile) != bool(s.kafka_ssl_keyfile):
        problems.append("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
    if bool(s.temporal_tls_cert_file) != bool(s.temporal_tls_key_file):
        problems.append("TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together")
    if s.temporal_api_key and not s.temporal_tls:
        problems.append("TEMPORAL_API_KEY needs TEMPORAL_TLS=true (the key would travel in clear)")
    if s.credit_jwt_jwks_url and s.credit_oidc_discovery_url:
        problems.append("set CREDIT_OIDC_DISCOVERY_URL or CREDIT_JWT_JWKS_URL, not both")
    algorithms = s.jwt_algorithms()
    if not algorithms or not set(algorithms) <= {"RS256", "ES256"}:
        problems.append("CREDIT_JWT_ALGORITHMS takes RS256 and/or ES256 (HS256 is development only)")
    try:
        s.payload_keys()
    except ValueError as exc:
        problems.append(str(exc))
    if s.credit_env == PRODUCTION:
        problems += _production_problems(s)
    if problems:
        raise ValueError("; ".join(problems))


def _production_problems(s: Any) -> list[str]:
    problems = []
    if s.kafka_security_protocol == "PLAINTEXT":
        problems.append("production needs KAFKA_SECURITY_PROTOCOL=SASL_SSL (SCRAM) or SSL (mutual TLS)")
    if s.kafka_security_protocol == "SSL" and not s.kafka_ssl_certfile:
        problems.append("KAFKA_SECURITY_PROTOCOL=SSL in production is mutual TLS: set KAFKA_SSL_CERTFILE/KEYFILE")
    if s.kafka_create_topics:
        problems.append("production never auto-creates topics (KAFKA_CREATE_TOPICS must not be true)")
    if not s.temporal_tls:
        problems.append("production needs TEMPORAL_TLS=true")
    if not s.database_url or not s.database_url.startswith(("postgresql", "postgres://")):
        problems.append("production needs DATABASE_URL (PostgreSQL)")
    if s.database_sslmode == "disable":
        problems.append("production needs DATABASE_SSLMODE require, verify-ca or verify-full")
    if not (s.credit_jwt_jwks_url or s.credit_oidc_discovery_url):
        problems.append("production needs CREDIT_OIDC_DISCOVERY_URL or CREDIT_JWT_JWKS_URL (HS256 is development only)")
    if not (s.credit_jwt_issuer or s.credit_oidc_discovery_url) or not s.credit_jwt_audience:
        problems.append(
            "production checks the token's issuer and audience: set CREDIT_JWT_ISSUER and CREDIT_JWT_AUDIENCE"
        )
    if not s.credit_payload_key:
        problems.append("production encrypts Temporal payloads: set CREDIT_PAYLOAD_KEY")
    return problems
