"""Benchmark: chart queries of one ESIID among many, through the selector (source rule +
aggregation + Python points) against the bare SQL aggregate, in the same run; and the time
from Accepted to first SMT data (real Celery worker + SMT simulator over HTTP).

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/usage_query.py \
        [--meters 1000] [--days 365] [--reps 40] [--no-e2e]

Loads ``meters x days`` of consumption (96 values a day, 92/100 on DST days) server-side,
queries, cleans up. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta

import httpx
from django.db import connection, transaction  # noqa: E402
from usage_ingest import bench_premises, cleanup, pct  # noqa: I001 - sets up Django

from enrollments.models import Enrollment  # noqa: E402
from enrollments.services import enrollment_transition  # noqa: E402
from opsadmin.models import ThirdPartyProvider  # noqa: E402
from usage.models import IntervalDay, UsageSyncState  # noqa: E402
from usage.selectors import SQL_BY_PERIOD, usage_for_chart  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Server-side load: one row per premise and day, the day's values drawn in the database.
LOAD_SQL = """
INSERT INTO usage_intervalday (service_account_id, channel, day, day_start, kwh, flags,
    total_kwh, estimated_count, missing_count, revised_at, ingested_at)
SELECT sa, 'C', d::date, v.day_start, v.kwh, repeat('A', v.n), v.total, 0, 0, now(), now()
FROM unnest(%s::bigint[]) AS sa
CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS d
CROSS JOIN LATERAL (
    SELECT (d::date::timestamp AT TIME ZONE 'America/Chicago') AS day_start,
           ((d::date + 1)::timestamp AT TIME ZONE 'America/Chicago')
             - (d::date::timestamp AT TIME ZONE 'America/Chicago') AS span
) AS s
CROSS JOIN LATERAL (
    SELECT s.day_start, array_agg(x ORDER BY i) AS kwh, sum(x) AS total, count(*)::int AS n
    FROM (
        SELECT i, round((0.1 + random() * 1.5)::numeric, 3) AS x
        FROM generate_series(1, (extract(epoch FROM s.span) / 900)::int) AS i
    ) AS q
) AS v
"""


from _common import free_port  # noqa: E402 - bench/ is on sys.path when run as a script


def load(ids: list[int], first: date, last: date) -> float:
    t = time.perf_counter()
    chunk = 100
    for i in range(0, len(ids), chunk):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(LOAD_SQL, [ids[i : i + chunk], first, last])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE usage_intervalday")
    return time.perf_counter() - t


def timed_pair(a, b, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50/p95 ms of ``a`` and ``b``, interleaved so both see the same machine load."""
    a(), b()  # warm
    ta, tb = [], []
    for _ in range(reps):
        for fn, out in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return (pct(ta, 0.5), pct(ta, 0.95)), (pct(tb, 0.5), pct(tb, 0.95))


def accepted_to_first_data() -> tuple[float, float]:
    """Seconds from the Accepted commit to the first stored SMT day and to all 24 months."""
    from opsadmin.celery import app as celery_app

    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen([sys.executable, "-m", "simulators", "--port", str(port)], cwd=ROOT)
    env = dict(os.environ, SIMULATORS_URL=sim_url, CONN_MAX_AGE="0")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "opsadmin",
            "worker",
            "-l",
            "warning",
            "-c",
            "2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    provider = ThirdPartyProvider.load()
    saved = {
        k: getattr(provider, k)
        for k in ("smt_enabled", "smt_api_url", "smt_username", "smt_password", "smt_duns_number")
    }
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{sim_url}/_health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        while not celery_app.control.ping(timeout=0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("worker did not start")
        provider.smt_enabled = True
        provider.smt_api_url = f"{sim_url}/smt"
        provider.smt_username = "BENCHREP"
        provider.smt_password = "bench-secret"  # noqa: S105 - simulator credential
        provider.smt_duns_number = "123456789"
        provider.save()
        (sa,) = bench_premises(1, prefix="1008901088")
        enrollment = Enrollment.objects.get(service_account=sa)
        Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.PENDING)
        t0 = time.perf_counter()
        enrollment_transition(
            enrollment=enrollment, to_status=Enrollment.Status.ACCEPTED, source="bench"
        )
        first = full = None
        while time.perf_counter() - t0 < 120:
            if first is None and IntervalDay.objects.filter(service_account=sa).exists():
                first = time.perf_counter() - t0
            if UsageSyncState.objects.filter(
                service_account=sa, data_through__isnull=False
            ).exists():
                full = time.perf_counter() - t0
                first = first or full
                break
            time.sleep(0.05)
        return first or float("nan"), full or float("nan")
    finally:
        for k, v in saved.items():
            setattr(provider, k, v)
        provider.save()
        worker.terminate()
        worker.wait(20)
        sim.terminate()
        sim.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--no-e2e", action="store_true", help="skip Accepted -> first data")
    args = parser.parse_args()

    provider = ThirdPartyProvider.load()
    was_enabled = provider.smt_enabled
    premises = bench_premises(args.meters)
    ids = [sa.pk for sa in premises]
    result: dict = {}
    try:
        last = date(2026, 10, 31)
        first = last - timedelta(days=args.days - 1)
        seconds = load(ids, first, last)
        print(f"loaded {args.meters} ESIIDs x {args.days} days in {seconds:.1f} s")
        provider.smt_enabled = True
        provider.save()
        sa = premises[len(premises) // 2]
        cases = {
            "hourly": (last - timedelta(days=30), last),  # one month
            "daily": (last - timedelta(days=364), last),  # one year
            "monthly": (date(2025, 11, 1), last),  # one year
        }
        for period, (start, end) in cases.items():

            def selector(period=period, start=start, end=end):
                r = usage_for_chart(service_account=sa, period=period, start=start, end=end)
                assert r.source == "smt", r.reason

            def bare(period=period, start=start, end=end):
                with connection.cursor() as cursor:
                    cursor.execute(SQL_BY_PERIOD[period], [sa.pk, start, end])
                    cursor.fetchall()

            (sel50, sel95), (sql50, sql95) = timed_pair(selector, bare, args.reps)
            print(
                f"{period:8s} selector p50 {sel50:7.2f} ms p95 {sel95:7.2f} ms | bare SQL p50"
                f" {sql50:7.2f} ms p95 {sql95:7.2f} ms | ratio {sel50 / sql50:.2f}"
            )
            result[f"{period}_selector_p50_ms"] = round(sel50, 2)
            result[f"{period}_selector_p95_ms"] = round(sel95, 2)
            result[f"{period}_sql_p50_ms"] = round(sql50, 2)
            result[f"{period}_sql_p95_ms"] = round(sql95, 2)
            result[f"{period}_ratio"] = round(sel50 / sql50, 2)
    finally:
        provider.smt_enabled = was_enabled
        provider.save()
        cleanup()
    if not args.no_e2e:
        try:
            first_s, full_s = accepted_to_first_data()
        finally:
            cleanup()
        print(f"Accepted -> first SMT data {first_s:.2f} s; all 24 months stored {full_s:.2f} s")
        result["accepted_to_first_data_s"] = round(first_s, 2)
        result["accepted_to_24_months_s"] = round(full_s, 2)
    result["meters"], result["days"] = args.meters, args.days
    print(json.dumps(result))


if __name__ == "__main__":
    main()
