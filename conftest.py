"""Project-wide pytest fixtures: simulators over real HTTP, a real Celery worker, Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


def pytest_configure(config):
    # Spanish pages and emails need the compiled catalogues (.mo are build output, not in git).
    from opsadmin.catalogues import compile_catalogues

    compile_catalogues()
    config.addinivalue_line(
        "markers", "otp: enforce staff two-factor (TOTP) as in production (see otp_enforcement)"
    )


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's default language and leaves it so: a request in
    Spanish (LocaleMiddleware) or ``translation.activate`` must not carry into the next test's
    service calls on the same thread."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def otp_enforcement(request, settings):
    """Staff two-factor is enforced only in tests marked ``@pytest.mark.otp``.

    In production Ops and Admin (``OTP_REQUIRED_GROUPS``) must verify a TOTP code after the
    password before any staff page. Most tests log staff in with ``client.force_login`` (or
    the login form in a browser) and test something else; for them this fixture empties
    ``OTP_REQUIRED_GROUPS``, which has the same effect as a session already OTP-verified.
    Tests marked ``otp`` keep the production setting and prove the enforcement
    (``tests/test_security_otp.py``); tests of settings read the default from the module.
    """
    if request.node.get_closest_marker("otp") is None:
        settings.OTP_REQUIRED_GROUPS = []
    yield


@pytest.fixture(scope="session")
def simulators_server():
    """The simulators process (``python -m simulators``) on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "--port", str(port)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/_health")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def simulators_url(simulators_server, settings):
    """Base URL of the simulators, with faults and remembered state cleared for this test.

    Also points ``settings.SIMULATORS_URL`` at it.
    """
    httpx.delete(f"{simulators_server}/_faults")
    httpx.delete(f"{simulators_server}/_state")
    settings.SIMULATORS_URL = simulators_server
    yield simulators_server
    httpx.delete(f"{simulators_server}/_faults")


def set_fault(base_url: str, system: str, **fault) -> None:
    """Tell the simulators to misbehave: ``set_fault(url, "esg", outage=True)``."""
    response = httpx.post(f"{base_url}/_faults", json={"system": system, **fault})
    response.raise_for_status()


class WorkerProcess:
    """A real ``celery worker`` subprocess on the test database and the test Redis."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, concurrency: int = 2) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "opsadmin",
                "worker",
                "-l",
                "warning",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
        )
        # ping until it answers
        from opsadmin.celery import app

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError("celery worker did not answer ping within 30s")

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children)."""
        import psutil

        if self.proc is None:
            return
        parent = psutil.Process(self.proc.pid)
        for child in parent.children(recursive=True):
            child.kill()
        parent.kill()
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


def _purge_broker() -> None:
    from opsadmin.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()


@pytest.fixture
def celery_worker(transactional_db, simulators_url, settings):
    """Start a real Celery worker; the test's data must be committed (transactional_db)."""
    from django.db import connection

    from opsadmin.embedded import database_url

    env = dict(os.environ)
    # Exactly this process's connection (socket or TCP, embedded or not), on the test database.
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    env["REDIS_URL"] = settings.REDIS_URL
    env["SIMULATORS_URL"] = simulators_url
    env["TESTING"] = "true"
    env["CONN_MAX_AGE"] = "0"
    _purge_broker()
    worker = WorkerProcess(env)
    worker.start()
    yield worker
    worker.stop()
    _purge_broker()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns a truthy value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="session")
def browser():
    """Chromium driven by Playwright: ``OPSADMIN_BROWSER`` (set by ``dev.py test``, which
    finds or installs one), else a Chromium on PATH (Debian's), else Playwright's own.

    Without any browser the whole run stops here with one line saying what to install.
    """
    from opsadmin.devtool import CHROMIUM_ARGS, NO_BROWSER, PLAYWRIGHT_OWN, find_browser

    choice = os.environ.get("OPSADMIN_BROWSER") or find_browser() or PLAYWRIGHT_OWN
    executable = None if choice == PLAYWRIGHT_OWN else choice
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError:
            if executable is not None:
                raise
            pytest.exit(NO_BROWSER, returncode=1)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_modifyitems(config, items):
    """Browser tests get one rerun: on a loaded 2-core CI machine Chromium, the live server
    and a worker share the cores, and a step can miss its timeout once. A test that fails
    twice still fails, and the first failure's page is printed (see ``page``)."""
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


@pytest.fixture
def page(request, browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        # What the person would have seen, for the CI log.
        try:
            text = pg.locator("body").inner_text(timeout=2_000)
            print(f"\n--- page at failure: {pg.url}\n{text[:3000]}\n---")
            out = ROOT / "test-results" / "failures"
            out.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - diagnostics must not mask the failure
            print(f"(could not capture the page: {exc})")
    context.close()


def axe_violations(pg, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (shipped by axe-playwright-python) on the page; serious+ violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(pg)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


class MarketClock:
    """Moves the market day for the product (every process: ``opsadmin.clock.shared_set``)
    and the simulators (``POST /_clock``) together, so a test can walk months of a
    customer's life through a real worker in seconds."""

    def __init__(self, simulators_url: str | None):
        self.simulators_url = simulators_url

    def set(self, day) -> None:
        from opsadmin import clock

        clock.shared_set(day)
        if self.simulators_url:
            httpx.post(f"{self.simulators_url}/_clock", json={"today": day.isoformat()})

    def advance(self, days: int) -> None:
        from datetime import timedelta

        from opsadmin import clock

        self.set(clock.today() + timedelta(days=days))

    def reset(self) -> None:
        from opsadmin import clock

        clock.shared_set(None)
        if self.simulators_url:
            httpx.delete(f"{self.simulators_url}/_clock")


@pytest.fixture
def market_clock(request):
    """The shared market clock (reset after the test); with the simulators when the test
    uses them."""
    sim = (
        request.getfixturevalue("simulators_url")
        if "simulators_url" in request.fixturenames
        else None
    )
    mc = MarketClock(sim)
    mc.reset()
    yield mc
    mc.reset()


@pytest.fixture
def mailbox(tmp_path, monkeypatch, settings):
    """Mail a real worker sends lands in files here (the worker reads the environment at
    start; this process reads the settings)."""
    path = tmp_path / "mail"
    path.mkdir()
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(path))
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(path)
    return path
