"""Benchmark: the My Account usage chart request for a year of SMT intervals.

Measures, in one run on one database:
- ``chart``: GET /myaccount/usage/ as htmx Refresh (hourly, the whole year) — query, plotly
  figure, compact JSON, the chart partial with its data table;
- ``selector``: usage_for_chart alone for the same range (the database aggregation);
- ``baseline``: a bare authenticated GET of a tiny page (the framework's floor).
Everything it writes is rolled back. Usage:

    DEBUG=true DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/myaccount_usage.py [--n 20] [--days 365]

Prints readable lines, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
os.environ.setdefault("TESTING", "true")  # fast password hasher, dev defaults

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


class Rollback(Exception):
    pass


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(fn, n: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def load_year(service_account, *, start: date, end: date) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="requests per measurement")
    parser.add_argument("--days", type=int, default=365, help="days of 15-minute intervals")
    args = parser.parse_args()
    setup_test_environment()
    call_command("migrate", verbosity=0)

    from myaccount.tests.factories import portal_customer, smt_on
    from usage.selectors import usage_for_chart

    results: dict = {}
    try:
        with transaction.atomic():
            smt_on()
            portal = portal_customer(first_name="Bench")
            end = date(2025, 12, 31)
            start = end - timedelta(days=args.days - 1)
            t0 = time.perf_counter()
            load_year(portal.account, start=start, end=end)
            ingest_s = time.perf_counter() - t0
            client = Client()
            client.force_login(portal.user)
            params = {"period": "hourly", "start": start.isoformat(), "end": end.isoformat()}

            def chart():
                r = client.get("/myaccount/usage/", params, headers={"HX-Request": "true"})
                assert r.status_code == 200, r.status_code
                return r

            def selector():
                usage_for_chart(
                    service_account=portal.account, period="hourly", start=start, end=end
                )

            def baseline():
                r = client.get("/myaccount/password-reset/sent/")
                assert r.status_code == 200

            body = chart().content.decode()
            marker = 'data-bytes="'
            payload = int(body[body.index(marker) + len(marker) :].split('"', 1)[0])
            results = {
                "days": args.days,
                "points": args.days * 24,
                "n": args.n,
                "ingest_s": round(ingest_s, 2),
                "payload_bytes": payload,
                "response_bytes": len(body.encode()),
            }
            for name, fn in (("chart", chart), ("selector", selector), ("baseline", baseline)):
                ms = timed(fn, args.n)
                results[f"{name}_p50_ms"] = round(statistics.median(ms), 1)
                results[f"{name}_p95_ms"] = round(pct(ms, 95), 1)
            raise Rollback
    except Rollback:
        pass

    print(f"usage chart, hourly, {results['days']} days ({results['points']} points), n={args.n}")
    print(
        f"  chart JSON payload: {results['payload_bytes']:,} bytes "
        f"(whole htmx response {results['response_bytes']:,} bytes)"
    )
    for name in ("chart", "selector", "baseline"):
        print(
            f"  {name:9s} p50 {results[f'{name}_p50_ms']:8.1f} ms   p95 {results[f'{name}_p95_ms']:8.1f} ms"
        )
    results["ratio_chart_to_baseline_p50"] = round(
        results["chart_p50_ms"] / max(results["baseline_p50_ms"], 0.001), 1
    )
    results["chart_minus_selector_p50_ms"] = round(
        results["chart_p50_ms"] - results["selector_p50_ms"], 1
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
