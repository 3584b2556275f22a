"""`python -m deploy.local.stack`: the whole credit system on this machine, one command.

Starts Tansu (Kafka), the Temporal dev server (persistent SQLite under var/, with its web UI),
creates the topics, then every service as its own process and the gateway in front of them; waits
until each answers, prints where everything is, and watches: a child that dies is started again
with backoff and the runner says so in its log (deploy/local/supervisor.py); a child that
crash-loops stops the lot with a non-zero exit; Ctrl-C or SIGTERM stops everything in reverse order
and exits 0.

`--check` starts everything, waits until healthy, prints the banner and stops (CI, tests).
`--port-offset N` moves every port by N, so a second stack can run beside a first.
`--var-dir DIR` keeps state and logs there instead of var/.
`--demo` loads the labelled demo data set through the API once everything answers (deploy/local/demo.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from deploy.local.components import (
    LOCALHOST,
    ComponentError,
    ManagedProcess,
    ensure_postgres,
    ensure_topics,
    port_open,
    run_sync,
    start_tansu,
    start_temporal_dev,
    wait_for_http,
)
from deploy.local.supervisor import CrashLoop, Supervisor
from deploy.local.tiers import Tier, niceness
from services.common.settings import DEV_JWT_SECRET, PROJECT_ROOT
from services.common.topics import ALL_TOPICS, PARTITIONS

log = logging.getLogger("deploy.local.stack")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str  # run as `python -m <module>`
    port: int | None  # HTTP port (SERVICE_PORT); None: no HTTP, only has to stay up
    tier: Tier  # CPU priority (deploy/local/tiers.py): background runs niced, read and intake do not


# Every process of the system, in start order; the gateway comes last. Modules that do not exist
# yet are skipped, so the list can name services still being written.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("evaluation", "services.evaluation", 8101, Tier.INTAKE),
    # A second intake consumer (same group): with PostgreSQL the two take the partitions between
    # them, per-subject advisory locks keep statuses in order, and one relay is elected. SQLite has
    # one writer at a time, so without DATABASE_URL it is not started (see `_wanted`).
    ServiceSpec("evaluation-2", "services.evaluation", 8111, Tier.INTAKE),
    ServiceSpec("publication", "services.publication", 8102, Tier.INTAKE),
    ServiceSpec("repair", "services.repair", 8103, Tier.BACKGROUND),
    ServiceSpec("appeal", "services.appeal", 8104, Tier.BACKGROUND),
    ServiceSpec("casework", "services.casework", 8105, Tier.BACKGROUND),
    ServiceSpec("watch", "services.watch", 8107, Tier.BACKGROUND),
    ServiceSpec("signals", "services.signals", 8108, Tier.BACKGROUND),
    ServiceSpec("evaluations", "services.evaluations", 8109, Tier.BACKGROUND),
    ServiceSpec("statistics", "services.statistics", 8110, Tier.BACKGROUND),
    ServiceSpec("workflows", "workflows.worker", None, Tier.BACKGROUND),
)
GATEWAY = ServiceSpec("gateway", "services.gateway", 8000, Tier.READ)
POSTGRES_ONLY = frozenset({"evaluation-2"})
KAFKA_PORT = 9092
TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
DEVTOKEN_HINT = ".venv/bin/python -m services.common.devtoken --role finance_officer --org 410300 --region 410300"


class Shutdown(Exception):
    """SIGTERM (or SIGINT) asked the runner to stop."""


def runnable(module: str) -> bool:
    """Whether `python -m module` would find something to run."""
    try:
        spec = importlib.util.find_spec(module)
        if spec is None:
            return False
        if spec.submodule_search_locations is not None:  # a package: needs __main__
            return importlib.util.find_spec(module + ".__main__") is not None
        return True
    except (ImportError, ValueError):
        return False


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()
    return url


class LocalStack:
    def __init__(self, var_dir: Path, port_offset: int = 0, health_timeout: float = 120) -> None:
        self.var_dir = var_dir
        self.log_dir = var_dir / "log"
        self.offset = port_offset
        self.health_timeout = health_timeout
        self.kafka_port = KAFKA_PORT + port_offset
        self.temporal_port = TEMPORAL_PORT + port_offset
        self.temporal_ui_port = TEMPORAL_UI_PORT + port_offset
        self.database_url = os.environ.get("DATABASE_URL") or None
        wanted = [s for s in SERVICES if self.database_url or s.name not in POSTGRES_ONLY]
        self.services = [s for s in wanted if runnable(s.module)]
        self.skipped = [s for s in wanted if s not in self.services]
        self.gateway = GATEWAY
        self.procs: dict[str, ManagedProcess] = {}  # in start order
        self.service_urls: dict[str, str] = {}  # PostgreSQL: the role each service connects as

    # -- addresses ---------------------------------------------------------------------------------

    def port(self, spec: ServiceSpec) -> int:
        assert spec.port is not None
        return spec.port + self.offset

    def url(self, spec: ServiceSpec) -> str:
        return f"http://{LOCALHOST}:{self.port(spec)}"

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.kafka_port}"

    @property
    def api_url(self) -> str:
        return self.url(self.gateway)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("GATEWAY_ROUTES", None)  # the runner decides where the services are
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            TEMPORAL_ADDRESS=f"{LOCALHOST}:{self.temporal_port}",
            CREDIT_API_URL=self.api_url,
            # The watch's supplier checks read publication itself, not the public gateway (issue 13).
            CREDIT_WATCH_CREDIT_URL=self.url(next(s for s in SERVICES if s.name == "publication")),
            CREDIT_VAR_DIR=str(self.var_dir),
            CREDIT_JWT_SECRET=os.environ.get("CREDIT_JWT_SECRET") or DEV_JWT_SECRET,
            GATEWAY_HOST=LOCALHOST,
            GATEWAY_PORT=str(self.port(self.gateway)),
            PYTHONUNBUFFERED="1",
        )
        # Without DATABASE_URL each service keeps its tables in a SQLite file under var/.
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        else:
            env.pop("DATABASE_URL", None)
        for spec in SERVICES:
            if spec.port is not None:
                env[f"GATEWAY_UPSTREAM_{spec.name.upper()}"] = self.url(spec)
        # The project's modules must import whatever the current directory.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        return env

    # -- start / watch / stop ----------------------------------------------------------------------

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.skipped:
            log.info("skipping %s: module %s does not exist yet", spec.name, spec.module)
        busy = [
            f"{spec.name} ({self.port(spec)})"
            for spec in [*self.services, self.gateway]
            if spec.port is not None and port_open(LOCALHOST, self.port(spec))
        ]
        if busy:
            raise ComponentError(
                "ports already in use: " + ", ".join(busy) + " (another stack running? try --port-offset)"
            )
        if self.database_url:
            ensure_postgres(self.database_url)
            # DATABASE_URL is the administrator's: it makes the roles and runs the migrations as their
            # owner; each service then connects as its own role, which owns nothing (issue 21).
            from services import dbsetup

            admin = self.database_url
            self.service_urls = run_sync(lambda: dbsetup.setup(admin))
            log.info("database roles ready: services connect as %s", ", ".join(sorted(
                redact(u).split("@")[0].split("//")[-1] for u in self.service_urls.values())))  # fmt: skip

        log.info("starting Tansu on %s", self.bootstrap)
        self.procs["tansu"] = start_tansu(self.kafka_port, self.log_dir / "tansu.log")
        log.info("starting Temporal on %s:%s (UI %s)", LOCALHOST, self.temporal_port, self.temporal_ui_port)
        self.procs["temporal"] = start_temporal_dev(
            self.temporal_port,
            self.temporal_ui_port,
            self.var_dir / "temporal.db",
            self.log_dir / "temporal.log",
        )
        run_sync(lambda: ensure_topics(self.bootstrap, ALL_TOPICS, PARTITIONS))

        env = self.env()
        for spec in self.services:
            self._start(spec, env)
        for spec in self.services:  # started together, awaited one by one
            self._await_healthy(spec)
        self._start(self.gateway, env)
        self._await_healthy(self.gateway)
        # A process with no HTTP has to have survived the others' start-up.
        for spec in self.services:
            self.procs[spec.name].check_alive()

    def _start(self, spec: ServiceSpec, env: dict[str, str], append: bool = False) -> ManagedProcess:
        child_env = dict(env)
        if spec.port is not None:
            child_env["SERVICE_PORT"] = str(self.port(spec))
        if self.service_urls:
            role_url = self.service_urls.get(spec.name.split("-")[0])
            if role_url:
                child_env["DATABASE_URL"] = role_url
            else:  # the workflow worker has no tables (the gateway reads one: dbsetup's credit_gateway)
                child_env.pop("DATABASE_URL", None)
        nice = niceness(spec.tier)  # a restart by the supervisor comes through here too
        log.info("starting %s (%s)%s", spec.name, spec.module, f" on {self.url(spec)}" if spec.port else "")
        self.procs[spec.name] = ManagedProcess(spec.name).start(
            [sys.executable, "-m", spec.module],
            env=child_env,
            log_file=self.log_dir / f"{spec.name}.log",
            cwd=PROJECT_ROOT,
            append=append,
            nice=nice,
        )
        log.info("%s has pid %s (%s tier, nice %s)", spec.name, self.procs[spec.name].pid, spec.tier, nice)
        return self.procs[spec.name]

    def _restart_broker(self) -> ManagedProcess:
        # Tansu keeps topics in memory: it comes back empty. The relays republish what the database
        # holds; what producers sent and nobody consumed yet is gone (see the banner and README).
        log.warning("Tansu restarts EMPTY: unconsumed input it held is lost; producers must resend")
        proc = start_tansu(self.kafka_port, self.log_dir / "tansu.log", append=True)
        run_sync(lambda: ensure_topics(self.bootstrap, ALL_TOPICS, PARTITIONS))
        return proc

    def supervisor(self, **options: float) -> Supervisor:
        """Watches every process started so far, each with the way to start it again."""
        sup = Supervisor(**options)
        env = self.env()
        by_name = {spec.name: spec for spec in [*self.services, self.gateway]}
        for name, proc in self.procs.items():
            if name == "tansu":
                restart = self._restart_broker
            elif name == "temporal":
                restart = lambda: start_temporal_dev(  # noqa: E731
                    self.temporal_port, self.temporal_ui_port, self.var_dir / "temporal.db",
                    self.log_dir / "temporal.log", append=True,
                )  # fmt: skip
            else:
                restart = lambda spec=by_name[name]: self._start(spec, env, append=True)  # noqa: E731
            sup.watch(name, proc, restart)
        return sup

    def _await_healthy(self, spec: ServiceSpec) -> None:
        if spec.port is not None:
            wait_for_http(f"{self.url(spec)}/healthz", self.health_timeout, self.procs[spec.name])
            log.info("%s is up", spec.name)

    def check(self) -> None:
        """What --check proves beyond health: the gateway merges the services' OpenAPI."""
        import httpx

        response = httpx.get(f"{self.api_url}/openapi.json", timeout=10, trust_env=False)
        response.raise_for_status()
        doc = response.json()
        log.info(
            "gateway OpenAPI: %d paths; services %s",
            len(doc.get("paths", {})),
            doc.get("info", {}).get("x-services"),
        )

    def watch(self, interval: float = 0.5, supervisor: Supervisor | None = None) -> int:
        """Keep every child running until asked to stop (Shutdown); returns 1 when one crash-loops."""
        sup = supervisor or self.supervisor()
        while True:
            try:
                sup.poll()
            except CrashLoop as exc:
                log.error("giving up: %s", exc)
                return 1
            finally:
                for name, watched in sup.watched.items():  # stop() must reach the new processes
                    self.procs[name] = watched.proc
            time.sleep(interval)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.alive:
                log.info("stopping %s", name)
            proc.stop(timeout=10)

    def load_demo(self) -> None:
        """deploy/local/demo.py against this stack, with the services' own environment."""
        demo = [sys.executable, "-m", "deploy.local.demo", "--api", self.api_url]
        if subprocess.run(demo, env=self.env(), cwd=PROJECT_ROOT, timeout=300).returncode != 0:
            raise ComponentError("the demo data set did not load (see above)")

    def banner(self) -> str:
        if self.database_url:
            database = f"PostgreSQL {redact(self.database_url)}"
        else:
            database = f"SQLite files under {self.var_dir}/ (one per service; set DATABASE_URL for PostgreSQL)"
        running = ", ".join(self.procs)
        skipped = ", ".join(s.name for s in self.skipped) or "none"
        lines = [
            "",
            "Procurement credit system is running",
            f"  API          {self.api_url}",
            f"  OpenAPI      {self.api_url}/openapi.json",
            f"  API docs     {self.api_url}/docs",
            f"  Console      {self.api_url}/console (case officers; sign in with the dev token below)",
            f"  Temporal UI  http://{LOCALHOST}:{self.temporal_ui_port}",
            f"  Temporal     {LOCALHOST}:{self.temporal_port} (namespace default, state in {self.var_dir}/temporal.db)",
            f"  Kafka        {self.bootstrap} (Tansu, topics IN MEMORY: a broker restart loses input not yet"
            " consumed; producers must keep their own outbox and resend — see README)",
            f"  Database     {database}",
            f"  Processes    {running} (not yet written: {skipped})",
            f"  Logs         {self.log_dir}/<name>.log",
            f"  Dev token    TOKEN=$({DEVTOKEN_HINT})",
            f'               curl -H "Authorization: Bearer $TOKEN" {self.api_url}/v1/catalogue',
            "",
        ]
        return "\n".join(lines) + "\n"


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    raise Shutdown(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--check", action="store_true", help="start, wait until healthy, print, stop")
    parser.add_argument("--port-offset", type=int, default=0, help="add N to every port")
    parser.add_argument("--var-dir", type=Path, default=None, help="state and logs (default: var/)")
    parser.add_argument("--health-timeout", type=float, default=120, help="seconds per service")
    parser.add_argument("--demo", action="store_true", help="load the labelled demo data set through the API")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s stack %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe otherwise
    var_dir = (args.var_dir or Path(os.environ.get("CREDIT_VAR_DIR") or PROJECT_ROOT / "var")).resolve()
    stack = LocalStack(var_dir, args.port_offset, args.health_timeout)

    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    code = 0
    try:
        stack.start()
        if args.check:
            stack.check()
        if args.demo:
            stack.load_demo()
        sys.stdout.write(stack.banner())
        sys.stdout.flush()
        if args.check:
            log.info("--check: everything answered; stopping")
        else:
            sys.stdout.write("Ctrl-C stops everything.\n")
            sys.stdout.flush()
            code = stack.watch()
    except Shutdown as why:
        log.info("%s: stopping", why)
    except (ComponentError, TimeoutError, OSError) as exc:
        log.error("%s", exc)
        code = 1
    except Exception:
        log.exception("the stack failed to start")
        code = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short (stop() kills what ignores SIGTERM).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
    log.info("stopped (exit %d)", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
