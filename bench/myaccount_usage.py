"""Benchmark: the My Account usage chart requests, each against its floor, in one run.

Cases (one premise, ``--days`` of SMT 15-minute intervals, default two years):
- ``hourly_year``: GET /myaccount/usage/ as htmx Refresh, hourly, the last 365 days;
- ``daily_year``: the same, daily, the last 365 days;
- ``monthly_2y``: the same, monthly, the last 24 months;
- ``dashboard``: GET /myaccount/ (the dashboard with its 12-month mini chart);
- ``bill_cycle`` (for information, no floor): GET /myaccount/bill-cycle/ as htmx, the
  dashboard's "This billing cycle" block, which loads by itself after the page.

Each case's floor, measured in the same run: the bare SQL aggregate of the same range (a
plain cursor, nothing else) plus the same chart JSON built by hand from its rows (one
list comprehension, orjson). ``baseline`` is a bare authenticated page (the framework's
floor); the ratio to floor + bare page is printed beside the ratio to the floor. For each case a pyinstrument profile prints where the time goes (SQL, Python
aggregation, figure building, serialization, templates, middleware, view).
Chart requests answer a repeated range from the chart cache (keyed on a stamp of the rows);
each chart case is also measured with the cache off (``uncached_*``: the first request for a
range, or the first after new data). Everything it writes is rolled back. Usage:

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/myaccount_usage.py [--n 20] [--days 730]

Prints readable lines, then one JSON line (the last line of stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
os.environ.setdefault("TESTING", "true")  # fast password hasher, dev defaults

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from _common import format_split, profile_split, summary, timed  # noqa: E402 - bench/ is on sys.path
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


class Rollback(Exception):
    pass


def load_days(service_account, *, start: date, end: date) -> None:
    """Realistic-looking 15-minute values (a daily shape, varied decimals), not constants,
    so the chart payload size is what real data gives."""
    from datetime import UTC, datetime

    from usage.models import UsageSyncState, intervals_in_day
    from usage.services import DayRow, intervals_ingest

    rows, day, revised = [], start, datetime(2026, 1, 1, tzinfo=UTC)
    while day <= end:
        n = intervals_in_day(day)
        values = [
            Decimal(f"{0.08 + 0.35 * ((i * 7 + day.toordinal()) % 23) / 23 + (i % 5) * 0.011:.3f}")
            for i in range(n)
        ]
        rows.append(DayRow(service_account.pk, "C", day, values, [False] * n, revised))
        day += timedelta(days=1)
    intervals_ingest(rows=rows)
    UsageSyncState.objects.update_or_create(
        service_account=service_account,
        defaults={"data_from": start, "data_through": end, "last_success_at": revised},
    )


def floor_fn(sa_id: int, period: str, start: date, end: date):
    """The bare SQL aggregate on a plain cursor, then the chart JSON built by hand."""
    from myaccount.charts import CHICAGO, STEP_MS
    from usage.selectors import SQL_BY_PERIOD

    sql = SQL_BY_PERIOD[period]

    def floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, [sa_id, start, end])
            rows = cursor.fetchall()
        y = [round(float(r[1]), 2) for r in rows]
        trace: dict = {"type": "bar", "name": "Consumption", "y": y}
        if period in STEP_MS:
            first = rows[0][0]
            first = first.astimezone(CHICAGO) if period == "hourly" else first
            trace |= {"x0": first.strftime("%Y-%m-%d %H:%M"), "dx": STEP_MS[period]}
        else:
            trace["x"] = [r[0].strftime("%Y-%m-%d") for r in rows]
        return len(orjson.dumps({"data": [trace], "layout": {"title": {"text": "Usage"}}}))

    return floor


@contextmanager
def uncached():
    """The chart cache switched off (a cache that never holds anything) for a measurement."""
    from django.core.cache.backends.dummy import DummyCache

    from myaccount import views

    real = views.cache
    views.cache = DummyCache("bench", {})
    try:
        yield
    finally:
        views.cache = real


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="requests per measurement")
    parser.add_argument("--days", type=int, default=730, help="days of 15-minute intervals")
    parser.add_argument("--profile-n", type=int, default=5, help="requests per profile")
    args = parser.parse_args()
    setup_test_environment()
    call_command("migrate", verbosity=0)

    from myaccount.tests.factories import portal_customer, smt_on

    results: dict = {}
    splits: dict = {}
    try:
        with transaction.atomic():
            smt_on()
            portal = portal_customer(first_name="Bench")
            today = date.today()
            end = today - timedelta(days=1)
            start = end - timedelta(days=args.days - 1)
            t0 = time.perf_counter()
            load_days(portal.account, start=start, end=end)
            results["ingest_s"] = round(time.perf_counter() - t0, 2)
            client = Client()
            client.force_login(portal.user)
            sa_id = portal.account.pk
            year_start = end - timedelta(days=364)
            y, m = divmod(end.year * 12 + end.month - 1 - 23, 12)
            two_years = max(date(y, m + 1, 1), start)
            y, m = divmod(today.year * 12 + today.month - 1 - 11, 12)
            dash_start = date(y, m + 1, 1)  # the dashboard's last 12 calendar months

            def usage_get(period: str, a: date, b: date):
                params = {"period": period, "start": a.isoformat(), "end": b.isoformat()}

                def chart():
                    r = client.get("/myaccount/usage/", params, headers={"HX-Request": "true"})
                    assert r.status_code == 200, r.status_code
                    return r

                return chart

            def dashboard():
                r = client.get("/myaccount/")
                assert r.status_code == 200, r.status_code
                assert b'id="summary-chart-data"' in r.content or b"summary" in r.content
                return r

            def bill_cycle():
                r = client.get("/myaccount/bill-cycle/", headers={"HX-Request": "true"})
                assert r.status_code == 200 and b"projected-bill" in r.content, r.status_code
                return r

            def baseline():
                r = client.get("/myaccount/password-reset/sent/")
                assert r.status_code == 200

            cases = {
                "hourly_year": (usage_get("hourly", year_start, end), "hourly", year_start, end),
                "daily_year": (usage_get("daily", year_start, end), "daily", year_start, end),
                "monthly_2y": (usage_get("monthly", two_years, end), "monthly", two_years, end),
                "dashboard": (dashboard, "monthly", dash_start, today),
            }
            results["baseline"] = summary(timed(baseline, args.n))
            for name, (fn, period, a, b) in cases.items():
                body = fn().content.decode()
                marker = 'data-bytes="'
                payload = (
                    int(body[body.index(marker) + len(marker) :].split('"', 1)[0])
                    if marker in body
                    else None
                )
                figures = summary(timed(fn, args.n))
                floor = summary(timed(floor_fn(sa_id, period, a, b), args.n))
                figures |= {
                    "floor_p50_ms": floor["p50_ms"],
                    "floor_p95_ms": floor["p95_ms"],
                    "ratio_p50_to_floor": round(figures["p50_ms"] / max(floor["p50_ms"], 0.01), 2),
                    # the floor plus what any authenticated page costs (session, auth,
                    # middleware, a template): what a chart request cannot go below
                    "ratio_p50_to_floor_plus_page": round(
                        figures["p50_ms"]
                        / max(floor["p50_ms"] + results["baseline"]["p50_ms"], 0.01),
                        2,
                    ),
                    "payload_bytes": payload,
                    "response_bytes": len(body.encode()),
                }
                results[name] = figures
                splits[name] = profile_split(fn, n=args.profile_n)
                # the same request with the chart cache off: what the first request for
                # a range (or the first after new data) costs
                with uncached():
                    cold = summary(timed(fn, args.n))
                    splits[name + "_uncached"] = profile_split(fn, n=args.profile_n)
                figures |= {
                    "uncached_p50_ms": cold["p50_ms"],
                    "uncached_p95_ms": cold["p95_ms"],
                    "uncached_ratio_p50_to_floor": round(
                        cold["p50_ms"] / max(floor["p50_ms"], 0.01), 2
                    ),
                }
            results["bill_cycle"] = summary(timed(bill_cycle, args.n))
            splits["bill_cycle"] = profile_split(bill_cycle, n=args.profile_n)
            raise Rollback
    except Rollback:
        pass

    load = os.getloadavg()
    print(f"usage chart requests, {args.days} days of 15-minute data, n={args.n}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 shared cores)")
    b = results["baseline"]
    print(f"  bare authenticated page   p50 {b['p50_ms']:7.1f} ms   p95 {b['p95_ms']:7.1f} ms")
    for name in ("hourly_year", "daily_year", "monthly_2y", "dashboard"):
        f = results[name]
        payload = f"{f['payload_bytes']:,}" if f["payload_bytes"] is not None else "-"
        print(
            f"  {name:12s} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms | floor "
            f"p50 {f['floor_p50_ms']:6.1f} ms  p95 {f['floor_p95_ms']:6.1f} ms | "
            f"{f['ratio_p50_to_floor']:.2f}x floor, {f['ratio_p50_to_floor_plus_page']:.2f}x "
            f"floor + bare page | chart JSON {payload} bytes"
        )
        print(f"      split: {format_split(splits[name])}")
        if "uncached_p50_ms" in f:
            print(
                f"      chart cache off: p50 {f['uncached_p50_ms']:7.1f} ms  p95 "
                f"{f['uncached_p95_ms']:7.1f} ms | {f['uncached_ratio_p50_to_floor']:.2f}x floor"
            )
            print(f"      split (cache off): {format_split(splits[name + '_uncached'])}")
    f = results["bill_cycle"]
    print(
        f"  bill_cycle   p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms (loads after the dashboard)"
    )
    print(f"      split: {format_split(splits['bill_cycle'])}")
    results["days"] = args.days
    results["n"] = args.n
    results["load_avg_1m"] = round(load[0], 2)
    results["split_ms"] = splits
    results["worst_ratio_p50_to_floor"] = max(
        results[k]["ratio_p50_to_floor"]
        for k in ("hourly_year", "daily_year", "monthly_2y", "dashboard")
    )
    results["worst_p95_ms"] = max(
        results[k]["p95_ms"] for k in ("hourly_year", "daily_year", "monthly_2y", "dashboard")
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
