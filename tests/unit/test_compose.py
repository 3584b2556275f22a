"""deploy/compose (issue 18): the single-host file resolved by a compose implementation from PyPI
(podman-compose, pinned; `--dry-run config` needs no container engine), then checked: every
variable it gives the services is one they read and starts them, restart policies and volumes,
only the gateway published beyond the host, the contract's topics created as in deploy/k8s."""

import base64
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from deploy.local.stack import GATEWAY
from deploy.local.stack import SERVICES as LOCAL_SERVICES
from deploy.local.tiers import Tier
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import ALL_TOPICS
from services.dbsetup import OWNER, role_of, service_schemas, url_as
from tests.unit.test_manifests import (
    DB_ROLE_PASSWORD,
    DB_ROLES,
    DB_SERVICES,
    GATEWAY_UPSTREAMS,
    PROCESS_ENV,
    of_kind,
    render,
)

COMPOSE = PROJECT_ROOT / "deploy" / "compose"
CREDIT_SERVICES = {
    "evaluation",
    "publication",
    "repair",
    "appeal",
    "casework",
    "watch",
    "signals",
    "evaluations",
    "statistics",
    "workflows",
    "codec",
    "gateway",
}
ONE_SHOT = {"migrate", "kafka-topics"}
ENV = {
    "CREDIT_DB_PASSWORD": "db-password",
    "CREDIT_API_URL": "https://credit.county.example.invalid",
    "CREDIT_POLICY_REGION": "410322",
    "CREDIT_JWT_SECRET": "a-county-secret-for-service-tokens-0123456789",
    "CREDIT_LEDGER_SIGNING_SEED": "ab" * 32,
    "CREDIT_OIDC_DISCOVERY_URL": "https://idp.example.invalid/realms/finance/.well-known/openid-configuration",
    "CREDIT_JWT_AUDIENCE": "credit-system",
    "CREDIT_PAYLOAD_KEY": base64.b64encode(b"k" * 32).decode(),
    "CREDIT_PAYLOAD_KEY_ID": "2027-01",
    **{f"CREDIT_DB_PASSWORD_{role.upper()}": f"pw-{role}" for role in DB_ROLES},
}


def podman_compose(env_file: Path | None) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).parent / "podman-compose"), "--dry-run"]
    argv += ["--env-file", str(env_file)] if env_file else []
    argv += ["-f", str(COMPOSE / "compose.yaml"), "config"]
    # Only what the compose file reads from .env: nothing of this process's environment.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CREDIT_", "DATABASE_", "KAFKA_", "TEMPORAL_"))}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=clean, check=False)


@cache
def resolved(tmp: str) -> dict:
    env_file = Path(tmp) / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in ENV.items()))
    out = podman_compose(env_file)
    assert out.returncode == 0, out.stderr[-2000:]
    return yaml.safe_load(out.stdout)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return resolved(str(tmp_path_factory.mktemp("compose")))


def test_required_secrets_refused_when_missing() -> None:
    out = podman_compose(None)
    assert out.returncode != 0 and "required variable" in out.stderr


def test_services_restart_and_keep_their_data(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == CREDIT_SERVICES | ONE_SHOT | {"postgres", "kafka", "temporal", "temporal-ui"}
    for name, svc in services.items():
        assert svc["restart"] == ("on-failure" if name in ONE_SHOT else "unless-stopped"), name
    assert set(compose["volumes"]) == {"pgdata", "pgarchive", "kafkadata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "kafkadata:/var/lib/kafka/data" in services["kafka"]["volumes"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    for name in CREDIT_SERVICES - {"codec", "gateway"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["gateway"]["depends_on"]["evaluation"]["condition"] == "service_healthy"


def test_only_the_gateway_is_published(compose: dict) -> None:
    published = {
        name: [str(p) for p in svc.get("ports", [])] for name, svc in compose["services"].items() if svc.get("ports")
    }
    beyond_loopback = {n for n, ports in published.items() if any(not p.startswith("127.0.0.1:") for p in ports)}
    assert beyond_loopback == {"gateway"}
    assert "postgres" not in published and "kafka" not in published and "temporal" not in published


def test_cpu_shares_follow_the_tiers(compose: dict) -> None:
    """Issue 19: the local runner's tiers (deploy/local/tiers.py); background weighs a quarter."""
    tiers = {spec.name: spec.tier for spec in (*LOCAL_SERVICES, GATEWAY) if spec.name != "evaluation-2"}
    tiers |= {"codec": Tier.BACKGROUND, "temporal": Tier.BACKGROUND}
    shares = {name: int(compose["services"][name]["cpu_shares"]) for name in tiers}
    assert shares == {name: 256 if tier is Tier.BACKGROUND else 1024 for name, tier in tiers.items()}


def test_topics_as_in_kubernetes(compose: dict) -> None:
    script = "\n".join(compose["services"]["kafka-topics"]["command"])
    created = {
        name: (int(parts), int(retention))
        for name, parts, retention in re.findall(r"^create (\S+) (\d+) (-?\d+)$", script, re.MULTILINE)
    }
    assert set(created) == set(ALL_TOPICS)
    k8s = {
        t["spec"]["topicName"]: (t["spec"]["partitions"], t["spec"]["config"]["retention.ms"])
        for t in of_kind(render("overlays/production"), "KafkaTopic")
    }
    assert created == k8s


def test_every_variable_is_read_and_starts_the_services(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    fields = set(Settings.model_fields)
    for name in CREDIT_SERVICES | {"migrate"}:
        env = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        for var in env:
            if var.lower() in fields or var in PROCESS_ENV:
                continue
            if name == "migrate" and DB_ROLE_PASSWORD.fullmatch(var):
                continue  # services/dbsetup.py reads one per role it makes
            assert var.startswith("GATEWAY_UPSTREAM_"), f"{name} sets {var}, which nothing reads"
            assert var.removeprefix("GATEWAY_UPSTREAM_").lower() in GATEWAY_UPSTREAMS
        for key in list(os.environ):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.credit_env == "single-host" and not settings.creates_topics() and settings.logs_json()
        assert settings.payload_keys() and settings.credit_oidc_discovery_url, name
        if name == "migrate":  # the superuser, to make the roles
            assert settings.database_url_for(name).startswith("postgresql+asyncpg://credit:db-password@postgres")
        elif name in DB_SERVICES:  # its own role, never the owner or the superuser
            assert settings.database_url_for(name).startswith(
                f"postgresql+asyncpg://credit_{name}:pw-credit_{name}@postgres"
            ), name
        else:  # no tables, no database
            assert settings.database_url is None, name


def test_migrate_makes_the_roles_each_service_connects_with(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 21 point 6, as the Kubernetes migration Job (tests/unit/test_manifests.py).
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "services.dbsetup"]
    assert {OWNER, *(role_of(s) for s in service_schemas())} == DB_ROLES
    assert set(DB_SERVICES) == set(service_schemas())
    env = {k: str(v) for k, v in migrate["environment"].items()}
    for role in DB_ROLES:
        assert env[f"CREDIT_DB_PASSWORD_{role.upper()}"] == f"pw-{role}", role
        monkeypatch.setenv(f"CREDIT_DB_PASSWORD_{role.upper()}", env[f"CREDIT_DB_PASSWORD_{role.upper()}"])
    for svc in DB_SERVICES:
        # What dbsetup makes (role and password) is what the service connects with.
        assert services[svc]["environment"]["DATABASE_URL"] == url_as(env["DATABASE_URL"], role_of(svc)), svc
    assert not any("DATABASE_URL" in services[n]["environment"] for n in CREDIT_SERVICES - set(DB_SERVICES))
    # Only migrate (and Temporal, which creates its databases) knows the superuser's password.
    for name, svc in services.items():
        values = [str(v) for v in (svc.get("environment") or {}).values()]
        if name not in {"migrate", "postgres", "temporal"}:
            assert not any(ENV["CREDIT_DB_PASSWORD"] in v for v in values), name
        if name not in {"migrate", "postgres"}:
            assert not any(ENV["CREDIT_DB_PASSWORD_CREDIT_OWNER"] in v for v in values), name


def test_the_env_example_names_every_required_variable() -> None:
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?\}", (COMPOSE / "compose.yaml").read_text()))
    example = set(re.findall(r"^([A-Z0-9_]+)=", (COMPOSE / ".env.example").read_text(), re.MULTILINE))
    assert required and required <= example, required - example
