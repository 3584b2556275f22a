"""Production settings (issue 18): read by the one Settings class, documented in one README table,
refused at start when inconsistent or insecure in production."""

import base64
import re
import ssl

import pytest
from pydantic import ValidationError

from services.common.production_settings import ProductionSettings
from services.common.settings import PROJECT_ROOT, Settings

KEY = base64.b64encode(b"k" * 32).decode()
SECURE = {
    "credit_env": "production",
    "credit_jwt_secret": "a-real-secret-for-service-tokens-0123456789",
    "credit_ledger_signing_seed": "ab" * 32,
    "database_url": "postgresql://credit@db/credit",
    "database_sslmode": "verify-full",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_username": "credit-evaluation",
    "kafka_sasl_password": "pw",
    "temporal_tls": True,
    "temporal_api_key": "key",
    "credit_oidc_discovery_url": "https://idp.example/realms/finance/.well-known/openid-configuration",
    "credit_jwt_audience": "credit-system",
    "credit_payload_key": KEY,
}


def readme_table_names() -> set[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    table = text.split("### Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cell = row.split("|")[1]
        first = re.findall(r"`([A-Z][A-Z_]+)`", cell)
        names |= set(first)
        # `CREDIT_JWT_CLAIM_SUB` / `_ROLE`: suffixes complete the first name's prefix.
        for suffix in re.findall(r"`(_[A-Z]+)`", cell):
            names.add(first[0].rsplit("_", 1)[0] + suffix)
    return names


# Read by one process outside the Settings class (issue 22: every setting in the README's one table).
OUTSIDE_SETTINGS = {
    "CREDIT_POLICY_DIR",
    "CREDIT_WATCH_POLICY_DIR",
    "CREDIT_CALENDAR_DIR",
    "GATEWAY_HOST",
    "GATEWAY_PORT",
    "GATEWAY_ROUTES",
    "GATEWAY_TIMEOUT",
    "GATEWAY_OPENAPI_TTL",
    "GATEWAY_PUBLIC_RATE_LIMIT",
    "SERVICE_HOST",
    "SERVICE_PORT",
    "RUST_LOG",
    "CREDIT_LOCAL_NICE",  # deploy/local/tiers.py NICE_ENV
}


def test_readme_table_is_every_setting() -> None:
    documented = readme_table_names()
    fields = {n.upper() for n in Settings.model_fields}
    assert documented - OUTSIDE_SETTINGS <= fields, documented - OUTSIDE_SETTINGS - fields
    missing = fields - documented
    assert not missing, f"settings not in the README table: {sorted(missing)}"
    assert set(ProductionSettings.model_fields) <= {n.lower() for n in documented}
    # Every variable the code reads by name outside Settings is in the table too.
    read = set()
    for path in [*(PROJECT_ROOT / "services").rglob("*.py"), *(PROJECT_ROOT / "deploy" / "local").rglob("*.py")]:
        read |= set(re.findall(r"environ(?:\.get)?[\(\[]\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    assert read - {"PYTHONPATH"} <= documented, sorted(read - {"PYTHONPATH"} - documented)


def test_secure_production_settings_start() -> None:
    s = Settings(**SECURE)
    assert not s.creates_topics() and s.logs_json()
    options = s.kafka_client_options()
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert s.kafka_broker_security() is not None
    assert s.database_connect_args()["ssl"].check_hostname
    assert s.payload_keys() == {"k1": b"k" * 32}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kafka_security_protocol": "PLAINTEXT"}, "SASL_SSL"),
        ({"kafka_sasl_password": None}, "KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "SSL"}, "mutual TLS"),
        ({"kafka_create_topics": True}, "never auto-creates"),
        ({"temporal_tls": False}, "TEMPORAL_TLS"),
        ({"database_sslmode": "disable"}, "DATABASE_SSLMODE"),
        ({"database_url": None}, "DATABASE_URL"),
        ({"credit_oidc_discovery_url": None}, "CREDIT_OIDC_DISCOVERY_URL"),
        ({"credit_jwt_audience": None}, "CREDIT_JWT_AUDIENCE"),
        ({"credit_jwt_algorithms": "HS256"}, "HS256 is development only"),
        ({"credit_payload_key": None}, "CREDIT_PAYLOAD_KEY"),
        ({"credit_payload_key": base64.b64encode(b"short").decode()}, "16, 24 or 32 bytes"),
        ({"credit_jwt_jwks_url": "https://idp.example/jwks"}, "not both"),
    ],
)
def test_production_refuses(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(**{**SECURE, **change})


def test_inconsistent_settings_refused_in_any_environment() -> None:
    with pytest.raises(ValidationError, match="TEMPORAL_API_KEY needs TEMPORAL_TLS"):
        Settings(temporal_api_key="k")
    with pytest.raises(ValidationError, match="KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE"):
        Settings(kafka_ssl_certfile="/tmp/cert.pem")
    with pytest.raises(ValidationError, match="not base64"):
        Settings(credit_payload_old_keys="k0:%%%")


def test_laptop_defaults_unchanged() -> None:
    s = Settings()
    assert s.creates_topics() and not s.logs_json()
    assert s.kafka_client_options() == {} and s.kafka_broker_security() is None
    assert s.database_connect_args() == {} and s.temporal_tls_config() is False
    assert s.payload_keys() == {}


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "p")
    monkeypatch.setenv("CREDIT_JWT_CLAIM_ROLE", "credit_role")
    monkeypatch.setenv("CREDIT_PAYLOAD_OLD_KEYS", f"k0:{KEY}")
    s = Settings()
    assert s.kafka_client_options()["sasl_plain_username"] == "u"
    assert s.credit_jwt_claim_role == "credit_role"
    assert list(s.payload_keys()) == ["k0"]
