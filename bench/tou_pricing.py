"""Benchmark: 20 plans (fixed, tiered, bill credits, time-of-use) priced on a year of one
premise's 15-minute intervals, month by month, as the products table and renewal offers do.

Measures, in one run on one database:
- ``ours``: ``usage.selectors.pricing_usage_months`` (month coverage, hour-of-week cells in
  America/Chicago, bills for incomplete months) + ``authorizations.selectors.
  plan_costs_for_usage`` (plans, TDU, price rows, every plan on every month);
- ``baseline``: the bare SQL that sums the same TOU buckets: one statement summing the
  year's intervals by (month, day of week, local hour, holiday), fetched, nothing else;
- ``naive``: for context, one CASE-per-period SQL statement per time-of-use plan summing
  that plan's periods by month (what pricing without shared buckets would run).
The headline ratio is ours / baseline (p50). Everything it writes is rolled back. Usage:

    DEBUG=true DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/tou_pricing.py [--n 15] [--days 365]

Prints readable lines, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
os.environ.setdefault("TESTING", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

D = Decimal


class Rollback(Exception):
    pass


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def load_intervals(service_account, *, start: date, end: date) -> None:
    """Varied 15-minute values with an evening peak (not constants)."""
    from usage.models import intervals_in_day
    from usage.services import DayRow, intervals_ingest

    rows, day, revised = [], start, datetime(2026, 1, 1, tzinfo=UTC)
    while day <= end:
        n = intervals_in_day(day)
        values = [
            D(
                f"{0.06 + 0.3 * ((i * 7 + day.toordinal()) % 23) / 23 + (0.2 if 68 <= i < 84 else 0):.3f}"
            )
            for i in range(n)
        ]
        rows.append(DayRow(service_account.pk, "C", day, values, [False] * n, revised))
        day += timedelta(days=1)
    intervals_ingest(rows=rows)


# 20 plans: 6 fixed (tiers, bill credits) and 14 time-of-use (nights, weekends, peak).
TOU_SHAPES = [
    [("Free nights", "0", 21, 6, [1, 2, 3, 4, 5, 6, 7], False)],
    [("Free nights", "0", 20, 6, [1, 2, 3, 4, 5, 6, 7], False)],
    [("Free nights", "0", 22, 6, [1, 2, 3, 4, 5, 6, 7], False)],
    [("Free nights", "0", 21, 7, [1, 2, 3, 4, 5, 6, 7], False)],
    [("Free nights", "0", 21, 6, [1, 2, 3, 4, 5, 6, 7], False)],  # same hours, other rate
    [("Free weekends", "0", 0, 0, [6, 7], True)],
    [("Free weekends", "0", 0, 0, [6, 7], False)],
    [("Free weekends", "0", 18, 0, [5], False), ("Weekend", "0", 0, 0, [6, 7], True)],
    [("Peak", "24.0", 14, 20, [1, 2, 3, 4, 5], False)],
    [
        ("Peak", "22.0", 15, 21, [1, 2, 3, 4, 5], False),
        ("Night", "6.0", 23, 6, list(range(1, 8)), False),
    ],
    [("Solar days", "3.0", 9, 16, list(range(1, 8)), False)],
    [("Free nights", "0", 21, 6, [1, 2, 3, 4, 5], False), ("Weekend", "8.0", 0, 0, [6, 7], True)],
    [("Night", "7.5", 0, 6, list(range(1, 8)), False)],
    [("Free Sundays", "0", 0, 0, [7], True)],
]


def make_plans(utility, ctype) -> list:
    from enrollments.models import Plan, PlanBillCredit, PlanEnergyTier, TouPeriod

    plans = []
    for i in range(6):
        plan = Plan.objects.create(
            code=f"BFIX{i}",
            name=f"Bench fixed {i}",
            term_months=12,
            energy_charge_cents=D("11.5") + i,
            base_fee=D("4.95") if i % 2 else D("0"),
        )
        if i >= 2:
            PlanEnergyTier.objects.create(plan=plan, above_kwh=1000, energy_charge_cents=D("9.9"))
        if i >= 4:
            PlanBillCredit.objects.create(plan=plan, min_kwh=1000, max_kwh=1999, amount=D("50"))
            PlanBillCredit.objects.create(plan=plan, min_kwh=2000, amount=D("25"))
        plans.append(plan)
    for i, shape in enumerate(TOU_SHAPES):
        plan = Plan.objects.create(
            code=f"BTOU{i}",
            name=f"Bench TOU {i}",
            term_months=12,
            energy_charge_cents=D("17.9") + D(i) / 10,
            base_fee=D("9.95"),
        )
        for order, (name, cents, start, end, days, hol) in enumerate(shape):
            TouPeriod.objects.create(
                plan=plan,
                name=name,
                energy_charge_cents=D(cents),
                start_hour=start,
                end_hour=end,
                days_of_week=days,
                on_holidays=hol,
                sort_order=order,
            )
        plans.append(plan)
    for plan in plans:
        plan.utilities.set([utility])
        plan.customer_types.set([ctype])
    return plans


def naive_sql(shape) -> str:
    """One statement: this plan's periods (first match wins) summed by month."""
    from enrollments.pricing import period_hours

    cases = []
    for index, (_, _, start, end, days, hol) in enumerate(shape):
        hours = ",".join(str(h) for h in sorted(period_hours(start, end)))
        day_list = ",".join(str(d) for d in days)
        cond = f"h.hour IN ({hours}) AND (h.dow IN ({day_list})"
        cond += " OR h.holiday)" if hol else ")"
        cases.append(f"WHEN {cond} THEN {index}")
    # built only from this file's integer constants (hours, ISO days), never from input
    return NAIVE_SQL.replace("%%CASES%%", " ".join(cases))


NAIVE_SQL = """
SELECT h.month, CASE %%CASES%% ELSE -1 END AS period, sum(h.v)
FROM (
  SELECT date_trunc('month', d.day)::date AS month, extract(isodow FROM d.day)::int AS dow,
         extract(hour FROM (d.day_start + (u.i - 1) * interval '15 minutes')
                           AT TIME ZONE 'America/Chicago')::int AS hour,
         d.day = ANY(%(holidays)s::date[]) AS holiday, u.v
  FROM usage_intervalday d CROSS JOIN LATERAL unnest(d.kwh) WITH ORDINALITY AS u(v, i)
  WHERE d.service_account_id = %(sa)s AND d.channel = 'C'
    AND d.day BETWEEN %(start)s AND %(end)s AND u.v IS NOT NULL
) h GROUP BY 1, 2
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=15, help="repetitions per measurement")
    parser.add_argument("--days", type=int, default=365, help="days of 15-minute intervals")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)

    from authorizations.selectors import plan_costs_for_usage
    from enrollments.models import TduCharge
    from enrollments.pricing import tou_holidays
    from usage.selectors import TOU_CELLS_SQL, pricing_usage_months
    from usage.tests.factories import premise

    results: dict = {}
    try:
        with transaction.atomic():
            sa = premise(esiid="1008901099999999999999")
            TduCharge.objects.update_or_create(
                utility=sa.utility,
                defaults={"monthly_charge": D("4.39"), "per_kwh_cents": D("5.5")},
            )
            ctype = sa.customer.customer_type
            # only the bench's 20 plans are on sale (rolled back with the rest)
            from enrollments.models import Plan

            Plan.objects.update(active=False)
            plans = make_plans(sa.utility, ctype)
            end = date(2025, 12, 31)
            start = end - timedelta(days=args.days - 1)
            load_intervals(sa, start=start, end=end)
            first = (
                start
                if start.day == 1
                else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            )
            holidays = tou_holidays(range(first.year, end.year + 1))
            params = {"sa": sa.pk, "start": first, "end": end, "holidays": holidays}

            state: dict = {}

            def ours():
                months = pricing_usage_months(service_account=sa, start=first, end=end)
                costs = plan_costs_for_usage(
                    months=months, utility=sa.utility, customer_type=ctype, channel="wizard"
                )
                assert len(costs) == len(plans), (len(costs), len(plans))
                state["months"] = months
                state["costs"] = costs

            def baseline():
                with connection.cursor() as cursor:
                    cursor.execute(TOU_CELLS_SQL, params)
                    cursor.fetchall()

            def naive():
                with connection.cursor() as cursor:
                    for shape in TOU_SHAPES:
                        cursor.execute(naive_sql(shape), params)
                        cursor.fetchall()

            ours()
            months = state["months"]
            results = {
                "days": args.days,
                "plans": len(plans),
                "tou_plans": len(TOU_SHAPES),
                "months": len(months),
                "interval_months": sum(1 for m in months if m.from_intervals),
                "n": args.n,
            }
            # interleaved rounds (ours, baseline, naive, ours, ...): on a shared machine the
            # load drifts, and back-to-back blocks would hand one side the quiet minutes
            fns = {"ours": ours, "baseline": baseline, "naive": naive}
            timings: dict[str, list[float]] = {name: [] for name in fns}
            for fn in fns.values():
                fn()  # warm up
            for _ in range(args.n):
                for name, fn in fns.items():
                    t0 = time.perf_counter()
                    fn()
                    timings[name].append((time.perf_counter() - t0) * 1000)
            for name, ms in timings.items():
                results[f"{name}_p50_ms"] = round(statistics.median(ms), 1)
                results[f"{name}_p95_ms"] = round(pct(ms, 95), 1)
            cheapest = state["costs"][0]
            results["cheapest"] = f"{cheapest.plan.code} ${cheapest.annual_cost}"
            raise Rollback
    except Rollback:
        pass

    print(
        f"TOU pricing: {results['plans']} plans ({results['tou_plans']} time-of-use) on "
        f"{results['days']} days of 15-minute data, {results['months']} months "
        f"({results['interval_months']} from intervals), n={results['n']}"
    )
    for name in ("ours", "baseline", "naive"):
        print(
            f"  {name:9s} p50 {results[f'{name}_p50_ms']:8.1f} ms   "
            f"p95 {results[f'{name}_p95_ms']:8.1f} ms"
        )
    print(f"  cheapest on this usage: {results['cheapest']}")
    results["ratio"] = round(results["ours_p50_ms"] / max(results["baseline_p50_ms"], 0.001), 2)
    results["ratio_naive_to_ours"] = round(
        results["naive_p50_ms"] / max(results["ours_p50_ms"], 0.001), 2
    )
    print(f"  ratio ours/baseline (p50): {results['ratio']} (target <= 2)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
