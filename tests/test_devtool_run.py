"""``dev.py run`` serves the login page, and Ctrl-C stops everything it started, quietly.

The run gets a database of its own on the tests' Postgres server and a private embedded
Redis (its beat and worker must not touch the tests' broker). Ctrl-C is what a terminal
sends: SIGINT to the foreground process group, which holds only dev.py (each child runs
in its own session and is stopped by dev.py in order).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from psycopg import sql

from conftest import free_port, wait_until
from opsadmin import embedded

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.worker]


class Output:
    """Everything a process prints, read on a thread so its pipe never fills."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.text += line

    def join(self) -> str:
        self._thread.join(10)
        return self.text


@pytest.fixture
def run_database():
    from django.db import connection

    name = f"devrun_{secrets.token_hex(4)}"
    url = embedded.database_url({**connection.settings_dict, "NAME": name})
    admin = embedded.database_url({**connection.settings_dict, "NAME": "postgres"})
    yield url
    with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _conninfo(url: str) -> str:
    import environ

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


def test_run_serves_login_and_ctrl_c_stops_everything_quietly(tmp_path, run_database):
    local = tmp_path / ".local"
    local.mkdir()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE", "TESTING"}
    }
    env.update(
        DATABASE_URL=run_database,
        REDIS_URL=embedded.redis_url(local),
        PORT=str(port),
        SIMULATORS_PORT=str(free_port()),
        DEMO_PASSWORD="pw-devrun-1",
        DEBUG="true",
    )
    dev = subprocess.Popen(
        [sys.executable, "-m", "opsadmin.devtool", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own foreground group, like a terminal gives it
    )
    out = Output(dev)
    children: list[psutil.Process] = []
    try:
        wait_until(lambda: "OpsAdmin is running" in out.text or dev.poll() is not None, 420, 1)
        assert dev.poll() is None, out.join()
        response = httpx.get(f"http://127.0.0.1:{port}/login/", timeout=10)
        assert response.status_code == 200
        assert 'name="password"' in response.text
        children = psutil.Process(dev.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        for part in ("runserver", "worker", "beat", "simulators"):
            assert part in names

        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C
        assert dev.wait(120) == 0
        text = out.join()
    finally:
        if dev.poll() is None:  # the test failed early: let dev.py stop its children
            children = children or psutil.Process(dev.pid).children(recursive=True)
            dev.terminate()
            try:
                dev.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)
                dev.wait(10)
        for child in children:
            if embedded.process_alive(child.pid):
                child.kill()
        embedded.redis_stop(local)

    assert "Traceback" not in text
    assert "KeyboardInterrupt" not in text
    assert "Stopped: simulators, worker, beat, web." in text.splitlines()
    deadline = time.monotonic() + 10
    while any(embedded.process_alive(c.pid) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c.pid for c in children if embedded.process_alive(c.pid)] == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/login/", timeout=2)
