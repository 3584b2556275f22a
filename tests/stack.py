"""A whole local stack for connected tests: the real broker (Tansu), a real Temporal dev server,
a fresh PostgreSQL database, and every service as its own process, each on free ports. The fault
tests kill and restart pieces of it."""

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from deploy.local.components import (
    ManagedProcess,
    create_database,
    drop_database,
    ensure_postgres,
    free_port,
    run_sync,
    start_tansu,
    start_temporal_dev,
    wait_for_http,
)
from deploy.local.stack import GATEWAY, runnable
from deploy.local.stack import SERVICES as RUNNER_SERVICES
from deploy.local.tiers import niceness
from services import dbsetup
from services.common.kafka_admin import ensure_topics
from services.common.settings import DEV_JWT_SECRET
from services.common.topics import ALL_TOPICS
from tests.support.tcpproxy import TcpProxy

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Stack:
    workdir: Path
    kafka_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    temporal_ui_port: int = field(default_factory=free_port)
    # Where the services notify experts' employers; tests stand a server up there when they need one.
    employer_port: int = field(default_factory=free_port)
    # The national platforms publications are pushed to (procurement site, credit site), likewise.
    procurement_port: int = field(default_factory=free_port)
    credit_port: int = field(default_factory=free_port)
    public_credit_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=dict)
    # Where each process's Temporal SDK serves its worker metrics (TEMPORAL_METRICS_BIND).
    sdk_metrics_ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    database_url: str = ""  # the tests' own way in: always direct
    # With `db_proxy`, the services reach PostgreSQL through a TCP proxy a fault test can cut.
    db_proxy: bool = False
    proxy: TcpProxy | None = None
    # Each service connects as its own role (services/dbsetup.py), never as the superuser.
    service_urls: dict[str, str] = field(default_factory=dict)
    # Environment over the tests' own for every service (None: unset); the benchmarks run the
    # periodic work at its deployed pace (bench/run_all.py DEPLOYED_PACE), not the tests' seconds.
    env_overrides: dict[str, str | None] = field(default_factory=dict)

    # The runner's table (deploy/local/stack.py), gateway last: the tests run what the runner runs,
    # including the second intake consumer (two writers and one relay elected between them, as
    # deployed with PostgreSQL), each process in its CPU tier.
    SERVICES = tuple((spec.name, spec.module) for spec in (*RUNNER_SERVICES, GATEWAY))
    TIERS = {spec.name: spec.tier for spec in (*RUNNER_SERVICES, GATEWAY)}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def services_database_url(self) -> str:
        return self.via_proxy(self.database_url)

    def via_proxy(self, url: str) -> str:
        if self.proxy is None:
            return url
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.proxy.port}"
        return parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "DATABASE_URL": self.services_database_url,
            # Two stacks can run at once (the session's and a module's own) on PostgreSQL's 100
            # connections; each service's engine keeps at most 2 x this many.
            "DATABASE_POOL_SIZE": "4",
            "CREDIT_JWT_SECRET": DEV_JWT_SECRET,
            # A test region 410399 under Luoyang with Luoyang's rules but no repair wait: the dev
            # server cannot wait six months (the time-skipping tests cover the wait itself).
            "CREDIT_POLICY_DIR": str(ROOT / "tests" / "fixtures" / "policies"),
            "LOG_LEVEL": "INFO",
            "CREDIT_EXPIRY_MAX_SLEEP_SECONDS": "2",
            "CREDIT_LEDGER_CHECKPOINT_SECONDS": "2",
            "CREDIT_EVIDENCE_GRANT_SECONDS": "4",
            # The gauges read from the database (outbox backlog, tasks, pushes) refresh every second.
            "CREDIT_METRICS_SAMPLE_SECONDS": "1",
            "CREDIT_EMPLOYER_NOTIFICATION_URL": f"http://127.0.0.1:{self.employer_port}/notify",
            "CREDIT_NATIONAL_PROCUREMENT_URL": f"http://127.0.0.1:{self.procurement_port}/push",
            "CREDIT_NATIONAL_CREDIT_URL": f"http://127.0.0.1:{self.credit_port}/push",
            "CREDIT_PUBLIC_CREDIT_URL": f"http://127.0.0.1:{self.public_credit_port}/push",
            "GATEWAY_UPSTREAM_EVALUATION": self.url("evaluation"),
            "GATEWAY_UPSTREAM_PUBLICATION": self.url("publication"),
            **{
                f"GATEWAY_UPSTREAM_{svc.upper()}": self.url(svc)
                for svc in ("repair", "appeal", "casework", "watch", "evaluations", "statistics")
            },
            "GATEWAY_PORT": str(self.ports["gateway"]),
            # No CREDIT_CALENDAR_DIR: a due date in 2027 is counted on the provisional calendar, as in
            # production until the State Council's arrangement is installed (test_calendar_connected).
            # The console reads through the gateway as the officer (same origin as the API).
            "CREDIT_API_URL": self.api,
            # The watch's supplier checks read publication itself, as deployed (not the public gateway).
            "CREDIT_WATCH_CREDIT_URL": self.url("publication"),
        }
        env.pop("GATEWAY_ROUTES", None)
        for key, value in self.env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start(self) -> "Stack":
        ensure_postgres(PG_ADMIN)
        name = f"credit_test_{uuid.uuid4().hex[:10]}"
        self.database_url = create_database(PG_ADMIN, name)
        if self.db_proxy:
            target = urlsplit(self.database_url)
            self.proxy = TcpProxy(free_port(), target.hostname or "127.0.0.1", target.port or 5432).start()
        # Roles, and every service's migrations run as their owner; the services then connect as roles.
        database_url = self.database_url
        self.service_urls = run_sync(lambda: dbsetup.setup(database_url))
        for svc, _ in self.SERVICES:
            self.ports[svc] = free_port()
        self.start_broker()
        self.procs["temporal"] = start_temporal_dev(
            self.temporal_port,
            self.temporal_ui_port,
            self.workdir / "temporal.db",
            self.workdir / "temporal.log",
        )
        for svc, module in self.SERVICES:
            if runnable(module):
                self.start_service(svc)
        return self

    def start_broker(self) -> None:
        self.procs["tansu"] = start_tansu(self.kafka_port, self.workdir / "tansu.log")
        run_sync(lambda: ensure_topics(self.bootstrap, ALL_TOPICS))

    def start_service(self, svc: str, *, overrides: dict[str, str] | None = None, log_name: str | None = None) -> None:
        """`overrides`: environment for this start only (e.g. a broker address nothing answers at);
        `log_name`: a log of its own, so a restart keeps the earlier run's log."""
        module = dict(self.SERVICES)[svc]
        sdk_port = self.sdk_metrics_ports.setdefault(svc, free_port())
        env = {
            **self.env(),
            "SERVICE_PORT": str(self.ports[svc]),
            "TEMPORAL_METRICS_BIND": f"127.0.0.1:{sdk_port}",
        }
        role_url = self.service_urls.get(svc.split("-")[0])
        if role_url:
            env["DATABASE_URL"] = self.via_proxy(role_url)
        else:  # the workflow worker has no tables (the gateway reads one: dbsetup's credit_gateway)
            env.pop("DATABASE_URL", None)
        env.update(overrides or {})
        log_file = self.workdir / f"{log_name or svc}.log"
        proc = ManagedProcess(svc).start(
            [sys.executable, "-m", module], env=env, log_file=log_file, cwd=ROOT, nice=niceness(self.TIERS[svc])
        )
        self.procs[svc] = proc
        if svc != "workflows":
            wait_for_http(f"{self.url(svc)}/healthz", 60, proc)

    def restart(self, svc: str, *, overrides: dict[str, str] | None = None, log_name: str | None = None) -> None:
        self.procs[svc].stop()
        self.start_service(svc, overrides=overrides, log_name=log_name)

    def kill(self, name: str) -> None:
        self.procs[name].kill()
        self.procs[name].wait(10)

    def close(self) -> None:
        """Stop every process and drop the stack's database (the end of a test session or module)."""
        self.stop()
        if self.database_url:
            drop_database(PG_ADMIN, self.database_url.rsplit("/", 1)[1])

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.procs[name].stop()
        if self.proxy is not None:
            self.proxy.stop()
