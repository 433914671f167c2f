"""The dev runner behind ``python3 dev.py run``, ``python3 dev.py test`` and ``python3 dev.py stop``.

Where ``DATABASE_URL`` / ``REDIS_URL`` are unset it starts this checkout's embedded Postgres
and Redis (``opsadmin.embedded``) and passes their URLs to every process it starts. It stops
what it started: ``run`` on Ctrl-C (or SIGTERM), ``test`` when the tests end. Servers that
were already running when it began (an earlier ``manage.py`` or ``pytest`` started them, or
another ``dev.py`` of this checkout still uses them) are left running; ``stop`` stops them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
USERS = LOCAL / "run"  # one file per live dev.py process of this checkout that uses .local
PY = sys.executable

# --- browser for the browser tests --------------------------------------------------------

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# Where a system package manager puts a browser, searched after installing with one.
SYSTEM_BIN_DIRS = ("/usr/bin", "/usr/local/bin", "/snap/bin")
# OPSADMIN_BROWSER holds a path to a Chromium, or this word for Playwright's own browser.
PLAYWRIGHT_OWN = "playwright"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_BROWSER = (
    "No browser for the browser tests: install Chromium (Debian/Ubuntu: "
    "sudo apt-get install -y chromium) or run: .venv/bin/python -m playwright install chromium"
)


def find_browser(path: str | None = None) -> str | None:
    """A Chromium on ``path`` (default: ``PATH``), or None."""
    for name in BROWSER_NAMES:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def browser_launches(executable: str | None, env: dict[str, str] | None = None) -> bool:
    """True when Playwright can launch ``executable`` (None: Playwright's own) headless."""
    code = (
        "import sys\n"
        "from playwright.sync_api import sync_playwright\n"
        "with sync_playwright() as pw:\n"
        "    pw.chromium.launch(executable_path=sys.argv[1] or None, args=sys.argv[2:]).close()\n"
    )
    try:
        result = subprocess.run(
            [PY, "-c", code, executable or "", *CHROMIUM_ARGS],
            env=env,
            capture_output=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def _package_manager() -> list[list[str]] | None:
    """Commands that install Chromium with the system package manager, where we may use it."""
    if os.name != "posix":
        return None
    if os.geteuid() == 0:
        sudo: list[str] = []
    elif (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    ):
        sudo = ["sudo", "-n"]
    else:
        return None
    if shutil.which("apt-get"):
        install = [*sudo, "apt-get", "install", "-y", "-qq", "chromium"]
        return [install, [*sudo, "apt-get", "update", "-qq"], install]
    if shutil.which("dnf"):
        return [[*sudo, "dnf", "install", "-y", "-q", "chromium"]]
    return None


def ensure_browser(env: dict[str, str], *, allow_install: bool = True) -> str | None:
    """Find or obtain a browser; returns a Chromium path, ``PLAYWRIGHT_OWN`` or None.

    In order: a Chromium on ``PATH``; Playwright's own browser, installed by Playwright when
    missing; the system package manager where this user may use it (root or passwordless
    sudo, apt-get or dnf). Each candidate must actually launch.
    """
    search = env.get("PATH")
    found = find_browser(search)
    if found and browser_launches(found, env):
        return found
    if browser_launches(None, env):
        return PLAYWRIGHT_OWN
    if not allow_install:
        return None
    print("No Chromium found: installing Playwright's own browser ...", flush=True)
    installed = subprocess.run(
        [PY, "-m", "playwright", "install", "--only-shell", "chromium"],
        env=env,
        capture_output=True,
        timeout=900,
    )
    if installed.returncode == 0 and browser_launches(None, env):
        return PLAYWRIGHT_OWN
    commands = _package_manager()
    if commands:
        tool = next(part for part in commands[0] if part in {"apt-get", "dnf"})
        print(f"Installing Chromium with the system package manager ({tool}) ...", flush=True)
        system_env = {**env, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in commands:
            if subprocess.run(cmd, env=system_env, capture_output=True).returncode == 0:
                break
        wider = os.pathsep.join([*(search or "").split(os.pathsep), *SYSTEM_BIN_DIRS])
        found = find_browser(wider)
        if found and browser_launches(found, env):
            return found
    return None


def _wants_browser(pytest_args: list[str]) -> bool:
    """False when the arguments leave the browser tests out (``-m "not browser"``)."""
    return "not browser" not in " ".join(pytest_args)


# --- who uses this checkout's embedded servers --------------------------------------------


def _users_alive(exclude: int | None = None) -> list[dict]:
    import psutil

    alive = []
    for path in USERS.glob("*.json") if USERS.exists() else []:
        if path.stem == str(exclude):
            continue
        try:
            info = json.loads(path.read_text())
            if psutil.Process(info["pid"]).create_time() == info["create_time"]:
                alive.append(info)
                continue
        except (OSError, ValueError, KeyError, psutil.Error):
            pass
        path.unlink(missing_ok=True)  # a dev.py that died without cleaning up
    return alive


class Session:
    """One dev.py command: the embedded servers it started and the processes it runs."""

    def __init__(self) -> None:
        self.started_servers: list[str] = []
        self.children: dict[str, subprocess.Popen] = {}
        self.registered = False

    # the environment every process gets
    def environment(self, base: dict[str, str] | None = None, redis_db: int = 0) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.setdefault("DEBUG", "true")
        env.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
        if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            from opsadmin import embedded

            self._register()
            if not env.get("DATABASE_URL"):
                if not embedded.postgres_running():
                    print("Starting embedded PostgreSQL (pgserver) under .local/ ...", flush=True)
                    self.started_servers.append("postgres")
                else:
                    print("Using this checkout's embedded PostgreSQL (already running)")
                env["DATABASE_URL"] = embedded.postgres_url()
            if not env.get("REDIS_URL"):
                if not embedded.redis_running():
                    print("Starting embedded Redis under .local/redis/ ...", flush=True)
                    self.started_servers.append("redis")
                else:
                    print("Using this checkout's embedded Redis (already running)")
                env["REDIS_URL"] = embedded.redis_url(db=redis_db)
        _ensure_database(env["DATABASE_URL"])
        return env

    def _register(self) -> None:
        import psutil

        USERS.mkdir(parents=True, exist_ok=True)
        me = psutil.Process()
        info = {"pid": me.pid, "create_time": me.create_time(), "children": []}
        (USERS / f"{me.pid}.json").write_text(json.dumps(info))
        self.registered = True

    def _record_children(self) -> None:
        if not self.registered:
            return
        import psutil

        path = USERS / f"{os.getpid()}.json"
        info = json.loads(path.read_text())
        info["children"] = [
            [p.pid, psutil.Process(p.pid).create_time()]
            for p in self.children.values()
            if p.poll() is None
        ]
        path.write_text(json.dumps(info))

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        # A session of its own: the terminal's Ctrl-C reaches only dev.py, which then stops
        # each child in order (no KeyboardInterrupt tracebacks from the children).
        self.children[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        self._record_children()

    def close(self) -> list[str]:
        """Stop the children, then the embedded servers this session started; names stopped."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped = [name for name, p in self.children.items() if p.poll() is None]
        # In reverse order of start, each waited for: web, beat, then the worker (its tasks
        # may still call the simulators), then the simulators.
        for p in reversed(self.children.values()):
            if p.poll() is not None:
                continue
            # The child only (its own clean shutdown: a Celery worker lets running tasks
            # finish, then stops its pool); its whole group is killed only if it hangs.
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                _signal_group(p, signal.SIGKILL)
                p.wait(10)
        if not self.registered:
            return stopped
        others = _users_alive(exclude=os.getpid())
        (USERS / f"{os.getpid()}.json").unlink(missing_ok=True)
        if others and self.started_servers:
            pids = ", ".join(str(o["pid"]) for o in others)
            print(f"Embedded servers left running: dev.py (pid {pids}) still uses them.")
            return stopped
        from opsadmin import embedded

        if "postgres" in self.started_servers and embedded.postgres_stop():
            stopped.append("embedded PostgreSQL")
        if "redis" in self.started_servers and embedded.redis_stop():
            stopped.append("embedded Redis")
        return stopped


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _wait_gone(pid: int, timeout: float) -> None:
    from opsadmin.embedded import process_alive

    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_listening(port: int, session: Session, timeout: float = 120) -> None:
    """Return once the web server accepts connections (or a child died, or time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in session.children.values()):
            return
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)


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
    subprocess.run(
        [PY, "-m", "opsadmin.catalogues"], cwd=ROOT, env=env, check=True, start_new_session=True
    )


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, start_new_session=True)


def _sigterm_is_ctrl_c() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    # A process started in the background by a non-interactive shell inherits SIGINT
    # ignored (and Python then keeps it so); Ctrl-C / SIGINT must always stop a run.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run() -> int:
    _sigterm_is_ctrl_c()
    session = Session()
    code = 0
    try:
        env = session.environment()
        port = env.get("PORT", "8000")
        # Next to the web port by default, so two checkouts on different PORTs do not collide.
        sim_port = env.get("SIMULATORS_PORT") or str(int(port) + 100)
        env.setdefault("SIMULATORS_URL", f"http://127.0.0.1:{sim_port}")
        _compile_catalogues(env)
        _manage(env, "migrate", "--no-input", "-v", "0")
        password = env.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        _manage(env, "seed_demo", "--password", password)
        beat_schedule = str(LOCAL / "celerybeat-schedule")
        LOCAL.mkdir(exist_ok=True)
        celery = [PY, "-m", "celery", "-A", "opsadmin"]
        session.start("simulators", [PY, "-m", "simulators", "--port", sim_port], env)
        session.start("worker", [*celery, "worker", "-l", "warning", "-c", "2"], env)
        session.start("beat", [*celery, "beat", "-l", "warning", "-s", beat_schedule], env)
        web = [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        session.start("web", web, env)
        _wait_listening(int(port), session)
        print(
            f"\nOpsAdmin is running at http://127.0.0.1:{port}/login/ (staff) and "
            f"http://127.0.0.1:{port}/myaccount/login/ (customers)\n"
            f"Demo logins (password {password}): agent, ops, admin, demo@customer.example\n"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while all(p.poll() is None for p in session.children.values()):
            time.sleep(0.5)
        dead = [n for n, p in session.children.items() if p.poll() is not None]
        print(f"Stopped because {', '.join(dead)} exited.", flush=True)
        code = 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
    except subprocess.CalledProcessError as exc:
        print(f"FAILED: {' '.join(exc.cmd[1:3])} exited with {exc.returncode}", flush=True)
        code = 1
    finally:
        stopped = session.close()
        if stopped:
            print(f"Stopped: {', '.join(stopped)}.", flush=True)
    return code


def test(extra: list[str]) -> int:
    _sigterm_is_ctrl_c()
    session = Session()
    try:
        env = dict(os.environ)
        if _wants_browser(extra) and not env.get("OPSADMIN_BROWSER"):
            browser = ensure_browser(env)
            if browser is None:
                print(NO_BROWSER, flush=True)
                return 1
            print(f"Browser tests use {browser}", flush=True)
            env["OPSADMIN_BROWSER"] = browser
        # Redis db 1: the tests flush their broker, which must not be a run's (db 0) in the
        # same checkout.
        env = session.environment(env, redis_db=1)
        steps = [
            ("translation catalogues", [PY, "-m", "opsadmin.catalogues"]),
            ("ruff", [PY, "-m", "ruff", "check", "."]),
            ("ruff format", [PY, "-m", "ruff", "format", "--check", "."]),
            ("makemigrations --check", [PY, "manage.py", "makemigrations", "--check", "--dry-run"]),
            ("import-linter", [str(Path(PY).parent / "lint-imports")]),
            # the type gate: [tool.mypy] in pyproject.toml says which code and how strictly
            ("mypy", [PY, "-m", "mypy"]),
            ("pytest", [PY, "-m", "pytest", *extra]),
        ]
        for name, cmd in steps:
            print(f"== {name}", flush=True)
            if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
                print(f"FAILED: {name}", flush=True)
                return 1
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()


def stop() -> int:
    """Stop every ``run`` of this checkout, then its embedded servers."""
    import psutil

    from opsadmin import embedded

    _sigterm_is_ctrl_c()
    stopped: list[str] = []
    for info in _users_alive(exclude=os.getpid()):
        # a live dev.py stops its own children and the servers it started on SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.kill(info["pid"], signal.SIGTERM)
        _wait_gone(info["pid"], 150)
        for pid, created in info.get("children", []):  # left behind by a dev.py killed hard
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if psutil.Process(pid).create_time() == created:
                    os.killpg(pid, signal.SIGTERM)
                    _wait_gone(pid, 20)
        stopped.append(f"dev.py (pid {info['pid']})")
    if embedded.postgres_stop():
        stopped.append("embedded PostgreSQL")
    if embedded.redis_stop():
        stopped.append("embedded Redis")
    print(f"Stopped: {', '.join(stopped)}." if stopped else "Nothing of this checkout was running.")
    return 0


def main(argv: list[str]) -> int:
    command, *rest = argv or ["run"]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    if command == "stop":
        return stop()
    print(f"unknown command {command}; use run, test or stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
