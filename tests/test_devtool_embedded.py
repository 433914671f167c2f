"""The embedded servers are private to their checkout; subprocesses get the exact connection.

Two checkouts (two ``.local/`` directories here) each get their own Redis on their own
socket with their own password: a task queued in one is not in the other, and neither
accepts the other's password. A server this checkout did not start is never used.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import environ
import psycopg
import pytest
import redis
from celery import Celery

from conftest import free_port, wait_until
from opsadmin import embedded
from opsadmin.settings import _celery_redis_url


@pytest.fixture
def two_checkouts(tmp_path):
    dirs = [tmp_path / "a" / ".local", tmp_path / "b" / ".local"]
    for d in dirs:
        d.mkdir(parents=True)
    yield dirs
    for d in dirs:
        embedded.redis_stop(d)


def test_two_checkouts_get_two_redis_servers_that_share_nothing(two_checkouts):
    a, b = two_checkouts
    url_a, url_b = embedded.redis_url(a), embedded.redis_url(b)
    ep_a, ep_b = embedded.redis_endpoint(a), embedded.redis_endpoint(b)

    assert ep_a.socket_path == (a / "redis" / "redis.sock").resolve()
    assert ep_b.socket_path == (b / "redis" / "redis.sock").resolve()
    assert ep_a.password != ep_b.password
    assert len(ep_a.password) == 64
    assert (a / "redis" / "password").stat().st_mode & 0o777 == 0o600
    assert (a / "redis").stat().st_mode & 0o777 == 0o700
    # no TCP listener at all: the URL is a socket URL
    assert url_a.startswith("unix://") and url_b.startswith("unix://")

    # A task queued through checkout A's broker (Celery's spelling of the URL, as the
    # settings derive it) sits in A's queue only.
    app_a = Celery("a", broker=_celery_redis_url(url_a))
    app_a.send_task("opsadmin.ping", args=[1])
    client_a = redis.Redis.from_url(url_a)
    client_b = redis.Redis.from_url(url_b)
    assert client_a.llen("celery") == 1
    assert client_b.llen("celery") == 0
    client_b.set("only-in-b", "1")
    assert client_a.get("only-in-b") is None

    # Neither server takes the other's password, nor none.
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(ep_b.socket_path), password=ep_a.password).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(ep_a.socket_path)).ping()

    # Asking again reuses the checkout's own server (same URL, data still there).
    assert embedded.redis_url(a) == url_a
    assert client_a.llen("celery") == 1
    # dev.py test uses db 1 of the same server, so it never flushes a run's queue (db 0).
    url_a1 = embedded.redis_url(a, db=1)
    assert url_a1 == url_a.replace("?db=0", "?db=1")
    assert redis.Redis.from_url(url_a1).llen("celery") == 0


def test_redis_stop_stops_only_that_checkouts_server(two_checkouts):
    a, b = two_checkouts
    embedded.redis_url(a)
    embedded.redis_url(b)
    assert embedded.redis_stop(a) is True
    assert embedded.redis_running(a) is False
    assert embedded.redis_running(b) is True
    assert embedded.redis_stop(a) is False  # nothing left to stop


def test_a_redis_this_checkout_did_not_start_is_never_used(tmp_path):
    """Where the socket path is too long, a recorded loopback port is used; a foreign server
    that took that port since is left alone and a new private one starts elsewhere."""
    local = tmp_path / ("x" * 90) / ".local"
    local.mkdir(parents=True)
    foreign_port = free_port()
    foreign = subprocess.Popen(
        [embedded.redis_server_binary(), "--port", str(foreign_port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        foreign_client = redis.Redis(port=foreign_port)
        wait_until(lambda: _pings(foreign_client), timeout=10, interval=0.05)
        (local / "redis").mkdir()
        (local / "redis" / "port").write_text(str(foreign_port))

        url = embedded.redis_url(local)
        endpoint = embedded.redis_endpoint(local)

        assert endpoint.socket_path is None
        assert endpoint.port != foreign_port
        assert url == f"redis://:{endpoint.password}@127.0.0.1:{endpoint.port}/0"
        redis.Redis.from_url(url).set("ours", "1")
        assert foreign_client.get("ours") is None
        assert foreign_client.dbsize() == 0
    finally:
        embedded.redis_stop(local)
        foreign.kill()
        foreign.wait(10)


def test_a_foreign_server_on_the_checkouts_socket_is_refused(tmp_path):
    local = tmp_path / ".local"
    sock = local / "redis" / "redis.sock"
    sock.parent.mkdir(parents=True)
    foreign = subprocess.Popen(
        [embedded.redis_server_binary(), "--port", "0", "--unixsocket", str(sock), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: sock.exists(), timeout=10, interval=0.05)
        with pytest.raises(embedded.EmbeddedServerError, match="did not start"):
            embedded.redis_url(local)
        assert redis.Redis(unix_socket_path=str(sock)).dbsize() == 0
    finally:
        foreign.kill()
        foreign.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_embedded_postgres_is_the_checkouts_own_and_stops(tmp_path):
    local = tmp_path / ".local"
    local.mkdir()
    try:
        url = embedded.postgres_url("opsadmin_x", local_dir=local)
        config = environ.Env().db_url_config(url)
        assert config["HOST"] == ""
        assert config["OPTIONS"]["host"] == str((local / "pgdata").resolve())
        with psycopg.connect(url) as conn:
            served = conn.execute("SHOW data_directory").fetchone()[0]
            assert Path(served).resolve() == (local / "pgdata").resolve()
            assert conn.execute("SELECT current_database()").fetchone()[0] == "opsadmin_x"
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""  # socket only
        assert embedded.postgres_running(local) is True
    finally:
        assert embedded.postgres_stop(local) is True
    assert embedded.postgres_running(local) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)


@pytest.mark.parametrize(
    "settings_dict",
    [
        {"NAME": "test_opsadmin", "USER": "postgres", "PASSWORD": "", "HOST": "", "PORT": "",
         "OPTIONS": {"host": "/work/co/.local/pgdata"}},
        {"NAME": "test_opsadmin", "USER": "postgres", "PASSWORD": "", "HOST": "/var/run/pg",
         "PORT": "", "OPTIONS": {}},
        {"NAME": "test_db", "USER": "us@r", "PASSWORD": "p:w/?#", "HOST": "127.0.0.1",
         "PORT": 5433, "OPTIONS": {"sslmode": "require"}},
    ],
)  # fmt: skip
def test_database_url_gives_back_the_same_connection(settings_dict):
    parsed = environ.Env().db_url_config(embedded.database_url(settings_dict))
    expected_host = settings_dict["HOST"] if not settings_dict["HOST"].startswith("/") else ""
    options = dict(settings_dict["OPTIONS"])
    if settings_dict["HOST"].startswith("/"):
        options["host"] = settings_dict["HOST"]
    assert parsed["NAME"] == settings_dict["NAME"]
    assert parsed["USER"] == settings_dict["USER"]
    assert parsed["PASSWORD"] == settings_dict["PASSWORD"]
    assert parsed["HOST"] == expected_host
    assert str(parsed["PORT"]) == str(settings_dict["PORT"])
    assert parsed.get("OPTIONS", {}) == options


@pytest.mark.django_db
def test_the_worker_url_reaches_this_process_database():
    """What ``celery_worker`` hands its worker connects to the very database this test uses."""
    from django.db import connection

    url = embedded.database_url(connection.settings_dict)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), inet_server_port(), pg_backend_pid()")
        mine = cursor.fetchone()
    with psycopg.connect(_conninfo(url)) as other:
        name, port, _ = other.execute(
            "SELECT current_database(), inet_server_port(), pg_backend_pid()"
        ).fetchone()
        data_dir = other.execute("SHOW data_directory").fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        assert cursor.fetchone()[0] == data_dir
    assert (name, port) == (mine[0], mine[1])
    assert name.startswith("test_")


def _conninfo(url: str) -> str:
    config = environ.Env().db_url_config(url)
    params = {
        "dbname": config["NAME"],
        "user": config["USER"],
        "password": config["PASSWORD"],
        "host": config["HOST"],
        "port": config["PORT"],
        **config.get("OPTIONS", {}),
    }
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if v not in ("", None)}
    )


def test_two_processes_starting_at_once_share_one_server(tmp_path):
    import sys

    import psutil

    local = tmp_path / ".local"
    local.mkdir()
    code = (
        "import sys; from pathlib import Path; from opsadmin import embedded; "
        "print(embedded.redis_url(Path(sys.argv[1])))"
    )
    root = Path(__file__).resolve().parents[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(local)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        urls = {p.communicate(timeout=60)[0].strip() for p in procs}
        assert len(urls) == 1
        redis_dir = str((local / "redis").resolve())
        servers = []
        for proc in psutil.process_iter(["name"]):
            try:
                if "redis-server" in proc.info["name"] and proc.cwd() == redis_dir:
                    servers.append(proc.pid)
            except psutil.Error:
                pass
        assert len(servers) == 1
    finally:
        embedded.redis_stop(local)
