"""Quick Enrollment: each step's request timed against a real gunicorn, single agent and
with 20 agents (threads) running the whole flow at once.

Prints p50/p95 round trip on loopback of each step's request, single agent (``--single``
enrollments one after another) and under load (``--agents`` x ``--rounds``), and the queries
each request makes (counted in a separate sequential in-process pass). The floor, measured
in the same runs and interleaved with the steps: a bare authenticated page of the same
layout (GET / : the staff home, staff_base.html, same server, session, auth and middleware,
no enrollment work). A pyinstrument profile of each step (in process, ``--profile``
enrollments) prints where its time goes (SQL, templates, middleware, view code, ...).
Then one JSON line, the last line of stdout.

    DEBUG=true DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/quick_enrollment.py \
        [--agents 20] [--rounds 2] [--single 20] [--workers 4] [--profile 5]

It creates and drops its own throwaway database (test_<name>), so it never touches data.
The Create Prospect tasks the submits enqueue are removed from the broker at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
os.environ.setdefault("TESTING", "true")

STEPS = ("open", "search", "products", "signup", "new_customer", "details", "submit")
TOKEN_RE = re.compile(r"/enrollments/quick/([0-9a-f-]{36})/")


from _common import (  # noqa: E402 - bench/ is on sys.path when run as a script
    format_split,
    free_port,
    per_call_ms,
    profiled,
    split_of,
)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def flow_requests(index: int, r: int, start_date: str):
    """The requests of one enrollment, in order: (step, method, path-or-step, data)."""
    return [
        ("open", "GET", None, None),
        ("search", "POST", "start", {"zip_code": "77002", "customer_type": "residential"}),
        ("products", "POST", "options", {"utility": "centerpoint", "consent_method": "phone"}),
        ("signup", "POST", "products", {"plan": "SAVER12"}),
        ("new_customer", "POST", "customer", {"customer": "new"}),
        (
            "details",
            "POST",
            "details",
            {
                "first_name": "Bench",
                "last_name": f"Agent{index}",
                "email": f"bench{index}-{r}@example.com",
                "phone": "713-555-0100",
                "language": "en",
                "notice_preference": "email",
                "date_of_birth": "1980-01-01",
                "ssn": "123-45-6789",
                "esiid": f"1008901{index:05d}{r:05d}00000",
                "address_line1": "1 Main St",
                "city": "Houston",
                "enrollment_type": "switch",
                "requested_start_date": start_date,
                "billing_same": "on",
            },
        ),
        (
            "submit",
            "POST",
            "review",
            {"ack_efl": "on", "ack_tos": "on", "ack_yrac": "on", "ack_rescission": "on"},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="enrollments per agent")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--single", type=int, default=20, help="enrollments by one agent alone")
    parser.add_argument("--profile", type=int, default=5, help="enrollments profiled in process")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def count_queries(start_date: str, profile_rounds: int) -> tuple[dict[str, int], dict]:
    """Queries per step's request (one agent, in process, sequentially), then a
    pyinstrument split of each step over ``profile_rounds`` more enrollments."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from enrollments.models import EnrollmentDraft
    from enrollments.tests.factories import make_staff

    user = make_staff("bench-counter", "Agent")
    client = Client()
    client.force_login(user)
    hx = {"HTTP_HX_REQUEST": "true"}
    counts: dict[str, int] = {}
    totals: dict[str, dict[str, float]] = defaultdict(dict)
    for r in range(1 + profile_rounds):
        draft = None
        profile = r > 0
        for step, method, target, data in [("baseline", "GET", "home", None)] + flow_requests(
            999, r, start_date
        ):
            if target == "home":
                url = "/"
            elif method == "GET" or target == "start":
                url = reverse("enrollments:quick_start")
            else:
                url = reverse(
                    "enrollments:quick_step", kwargs={"token": draft.token, "step": target}
                )
            if step == "submit":
                data = {**data, "idempotency_token": str(draft.token)}

            def send(url=url, method=method, data=data):
                return client.get(url) if method == "GET" else client.post(url, data, **hx)

            if profile:
                resp, root = profiled(send)
                split_of(root, totals[step])
            else:
                with CaptureQueriesContext(connection) as ctx:
                    resp = send()
                counts[step] = len(ctx.captured_queries)
            assert resp.status_code in (200, 303), (step, resp.status_code)
            if target == "start":
                draft = EnrollmentDraft.objects.filter(created_by=user).latest("pk")
    splits = {step: per_call_ms(t, max(profile_rounds, 1)) for step, t in totals.items()}
    return counts, splits


def run(args) -> None:
    from django.db import connection
    from django.test import Client

    from enrollments.dates import earliest_start_date
    from enrollments.models import Enrollment
    from enrollments.tests.factories import make_catalogue, make_staff

    make_catalogue()
    start_date = earliest_start_date("switch").isoformat()
    counts, splits = count_queries(start_date, args.profile)
    cookies = []
    for i in range(args.agents):
        client = Client()
        client.force_login(make_staff(f"bench-agent-{i}", "Agent"))
        cookies.append(client.cookies["sessionid"].value)

    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["LOG_LEVEL"] = "WARNING"
    env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "opsadmin.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # every worker process serves each step once before anything is timed: a fresh
        # worker compiles its templates and fills its caches on first use, which a server
        # that has been up for a minute has long done (without this, the first requests per
        # worker land in the single agent's p95)
        warm = min(args.agents, args.workers * 2)
        _, warm_errors, _ = load(warm, 1, base, cookies, start_date, offset=900)
        single, single_errors, _ = load(1, args.single, base, cookies, start_date, offset=500)
        timings, errors, wall = load(args.agents, args.rounds, base, cookies, start_date)
        errors += single_errors + warm_errors
    finally:
        server.terminate()
        server.wait(20)

    made = Enrollment.objects.count() - 1 - args.profile - args.single - warm  # the load run's
    expected = args.agents * args.rounds
    print(
        f"Quick Enrollment: {args.agents} concurrent agents x {args.rounds} enrollments, "
        f"gunicorn {args.workers} workers, {wall:.1f}s; {made}/{expected} enrollments; "
        f"errors: {len(errors)}"
    )
    load_avg = os.getloadavg()
    print(f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} (2 shared cores)")
    print(
        f"{'request':14} {'1 agent p50':>11} {'p95':>7} | {args.agents} agents p50 {'p95':>7}"
        f" {'p95/floor':>9} | queries"
    )
    figures = {}
    for name in ("baseline", *STEPS):
        values, alone = timings[name], single[name]
        figures[name] = {
            "single_p50_ms": round(pct(alone, 50), 1),
            "single_p95_ms": round(pct(alone, 95), 1),
            "p50_ms": round(pct(values, 50), 1),
            "p95_ms": round(pct(values, 95), 1),
            "queries": counts[name],
        }
    floor_p95 = figures["baseline"]["p95_ms"] or 1.0
    for name in ("baseline", *STEPS):
        f = figures[name]
        f["p95_over_floor"] = round(f["p95_ms"] / floor_p95, 2)
        print(
            f"{name:14} {f['single_p50_ms']:11.1f} {f['single_p95_ms']:7.1f} | "
            f"{f['p50_ms']:14.1f} {f['p95_ms']:7.1f} {f['p95_over_floor']:9.2f} | {f['queries']}"
        )
    print("(baseline = the floor: GET / , a bare authenticated page of the same layout)")
    print("profile split per step, in process, one agent:")
    for name in ("baseline", *STEPS):
        print(f"  {name:14} {format_split(splits.get(name, {}))}")
    base_p50 = figures["baseline"]["p50_ms"] or 1.0
    worst = max(STEPS, key=lambda k: figures[k]["p50_ms"])
    ratio = round(figures[worst]["p50_ms"] / base_p50, 2)
    worst95 = max(STEPS, key=lambda k: figures[k]["p95_over_floor"])
    single_worst = max(STEPS, key=lambda k: figures[k]["single_p95_ms"])
    print(f"slowest step: {worst}, p50 {figures[worst]['p50_ms']} ms = {ratio}x the floor")
    print(
        f"worst p95 under load: {worst95}, {figures[worst95]['p95_over_floor']}x the floor's p95;"
        f" worst single-agent p95: {single_worst}, {figures[single_worst]['single_p95_ms']} ms"
    )
    if errors:
        print("errors:", errors[:10])
    from opsadmin.celery import app

    with app.connection_for_write() as conn:  # drop the Create Prospect tasks we enqueued
        conn.default_channel.client.flushdb()
    print(
        json.dumps(
            {
                "agents": args.agents,
                "enrollments": made,
                "errors": len(errors),
                "steps": figures,
                "slowest_step": worst,
                "slowest_p50_over_baseline": ratio,
                "worst_p95_over_floor": figures[worst95]["p95_over_floor"],
                "worst_single_p95_ms": figures[single_worst]["single_p95_ms"],
                "load_avg_1m": round(load_avg[0], 2),
                "split_ms": splits,
            }
        )
    )


def load(agents: int, rounds: int, base: str, cookies: list[str], start_date: str, offset=0):
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(agents)

    def agent(index: int) -> None:
        with httpx.Client(base_url=base, cookies={"sessionid": cookies[index]}, timeout=60) as c:
            c.get("/enrollments/quick/")  # the CSRF cookie
            headers = {"HX-Request": "true", "X-CSRFToken": c.cookies.get("csrftoken", "")}
            barrier.wait()
            for r in range(rounds):
                t0 = time.perf_counter()
                resp = c.get("/")
                record("baseline", t0, resp)
                token = None
                for step, method, target, data in flow_requests(index + offset, r, start_date):
                    if method == "GET" or target == "start":
                        path = "/enrollments/quick/"
                    else:
                        path = f"/enrollments/quick/{token}/{target}/"
                    if step == "submit":
                        data = {**data, "idempotency_token": token}
                    t0 = time.perf_counter()
                    if method == "GET":
                        resp = c.get(path)
                    else:
                        resp = c.post(path, data=data, headers=headers)
                    record(step, t0, resp)
                    if target == "start":
                        match = TOKEN_RE.search(resp.text)
                        token = match.group(1) if match else "missing"

    def record(name: str, t0: float, resp) -> None:
        elapsed = (time.perf_counter() - t0) * 1000
        with lock:
            timings[name].append(elapsed)
            if resp.status_code != 200:
                errors.append(f"{name}: {resp.status_code}")

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(agents)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings, errors, time.perf_counter() - t0


if __name__ == "__main__":
    main()
