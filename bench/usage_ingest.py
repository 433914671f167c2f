"""Benchmark: SMT interval ingest (COPY into staging + one upsert) against a raw COPY into
the same table, in the same run; and the storage layout measured both ways (one narrow row
per reading vs one row per premise/day/channel holding the day's values in an array).

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/usage_ingest.py \
        [--meters 40] [--days 365]

Needs a migrated database. Cleans up its rows. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from enrollments.models import Customer, Enrollment, Plan, ServiceAccount  # noqa: E402
from opsadmin.models import CustomerType, Utility  # noqa: E402
from usage.models import CHICAGO, UTC, intervals_in_day  # noqa: E402
from usage.services import COLUMNS, DayRow, copy_tuples, intervals_ingest  # noqa: E402

BENCH_MARK = "usage-bench"


def bench_premises(n: int, *, prefix: str = "1008901099") -> list[ServiceAccount]:
    """``n`` ERCOT premises with an active enrollment each, tagged for clean-up."""
    cleanup()
    utility, _ = Utility.objects.get_or_create(
        code="centerpoint",
        defaults={"name": "CenterPoint", "market": "ERCOT", "esiid_prefixes": ["1008901"]},
    )
    ctype, _ = CustomerType.objects.get_or_create(
        code="residential", defaults={"name": "Residential"}
    )
    plan, _ = Plan.objects.get_or_create(
        code="BENCH12",
        defaults={"name": "Bench", "term_months": 12, "energy_charge_cents": Decimal("12")},
    )
    customers = Customer.objects.bulk_create(
        Customer(
            customer_type=ctype,
            first_name="Bench",
            last_name=BENCH_MARK,
            email=f"bench{i}@example.com",
        )
        for i in range(n)
    )
    premises = ServiceAccount.objects.bulk_create(
        ServiceAccount(
            customer=c,
            utility=utility,
            esiid=f"{prefix}{i:012d}",
            address_line1="1 Bench St",
            city="Houston",
            zip_code="77002",
        )
        for i, c in enumerate(customers)
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            customer=sa.customer,
            service_account=sa,
            plan=plan,
            channel=Enrollment.Channel.QUICK,
            status=Enrollment.Status.ACTIVE,
        )
        for sa in premises
    )
    return premises


def cleanup() -> None:
    from django.db import connection

    ids = list(
        ServiceAccount.objects.filter(customer__last_name=BENCH_MARK).values_list("pk", flat=True)
    )
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM usage_intervalday WHERE service_account_id = ANY(%s)", [ids]
            )
        Enrollment.objects.filter(service_account_id__in=ids).delete()
        ServiceAccount.objects.filter(pk__in=ids).delete()
    Customer.objects.filter(last_name=BENCH_MARK).delete()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def synthetic_rows(premises, first: date, days: int, *, seed: int = 1) -> list[DayRow]:
    rng = random.Random(seed)
    table = [Decimal(f"{x / 1000:.3f}") for x in range(0, 2000)]
    revised = datetime(2026, 1, 1, tzinfo=CHICAGO)
    rows = []
    for sa in premises:
        for d in range(days):
            day = first + timedelta(days=d)
            n = intervals_in_day(day)
            values = [table[rng.randrange(100, 1800)] for _ in range(n)]
            estimated = [rng.random() < 0.01 for _ in range(n)]
            rows.append(DayRow(sa.pk, "C", day, values, estimated, revised))
    return rows


def clear(ids) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM usage_intervalday WHERE service_account_id = ANY(%s)", [ids])


def ours(rows: list[DayRow], batch: int) -> float:
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        intervals_ingest(rows=rows[i : i + batch])
    return time.perf_counter() - t


def raw_copy(rows: list[DayRow], batch: int) -> float:
    now = datetime.now(CHICAGO)
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        with transaction.atomic(), connection.cursor() as cursor:
            sql = f"COPY usage_intervalday ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for values in copy_tuples(rows[i : i + batch], now=now):
                    copy.write_row(values)
    return time.perf_counter() - t


NARROW_DDL = """
DROP TABLE IF EXISTS bench_usage_narrow;
CREATE TABLE bench_usage_narrow (
    service_account_id bigint NOT NULL, channel varchar(1) NOT NULL,
    interval_start timestamptz NOT NULL, kwh numeric(10,4) NOT NULL,
    estimated boolean NOT NULL, revised_at timestamptz NOT NULL,
    PRIMARY KEY (service_account_id, channel, interval_start));
CREATE INDEX bench_usage_narrow_brin ON bench_usage_narrow USING brin (interval_start);
"""


def narrow_copy(rows: list[DayRow]) -> float:
    from usage.models import local_day_start

    with connection.cursor() as cursor:
        cursor.execute(NARROW_DDL)
    step = timedelta(minutes=15)
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        sql = (
            "COPY bench_usage_narrow (service_account_id, channel, interval_start, kwh,"
            " estimated, revised_at) FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            for r in rows:
                start = local_day_start(r.day).astimezone(UTC)  # UTC: DST days are 92/100
                for i, v in enumerate(r.values):
                    copy.write_row(
                        (
                            r.service_account_id,
                            r.channel,
                            start + i * step,
                            v,
                            r.estimated[i],
                            r.revised_at,
                        )
                    )
    elapsed = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bench_usage_narrow; ANALYZE usage_intervalday")
    return elapsed


def sizes(ids) -> tuple[float, float, float]:
    """Bytes per reading (heap + indexes, no dead tuples): narrow table, the day-array table
    as stored (numeric[]), and a day-array variant holding integer Wh (int4[])."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DROP TABLE IF EXISTS bench_usage_array, bench_usage_array_wh;
            CREATE TABLE bench_usage_array AS
                SELECT * FROM usage_intervalday WHERE service_account_id = ANY(%s);
            ALTER TABLE bench_usage_array ADD PRIMARY KEY (service_account_id, channel, day);
            CREATE INDEX ON bench_usage_array USING brin (day);
            CREATE TABLE bench_usage_array_wh AS
                SELECT service_account_id, channel, day, day_start,
                       (SELECT array_agg((v * 1000)::int4 ORDER BY o)
                        FROM unnest(kwh) WITH ORDINALITY AS u(v, o)) AS wh,
                       flags, total_kwh, estimated_count, missing_count, revised_at, ingested_at
                FROM bench_usage_array;
            ALTER TABLE bench_usage_array_wh ADD PRIMARY KEY (service_account_id, channel, day);
            CREATE INDEX ON bench_usage_array_wh USING brin (day);
            """,
            [ids],
        )
        cursor.execute("VACUUM ANALYZE bench_usage_array")
        cursor.execute("VACUUM ANALYZE bench_usage_array_wh")
        cursor.execute(
            "SELECT pg_total_relation_size('bench_usage_narrow'), count(*) FROM bench_usage_narrow"
        )
        narrow_bytes, narrow_n = cursor.fetchone()
        cursor.execute(
            "SELECT pg_total_relation_size('bench_usage_array'), pg_total_relation_size('bench_usage_array_wh')"
        )
        array_bytes, wh_bytes = cursor.fetchone()
    return narrow_bytes / narrow_n, array_bytes / narrow_n, wh_bytes / narrow_n


def read_meter_year(sa_id: int, first: date, last: date, reps: int) -> dict[str, float]:
    """ms to read one meter-year as daily totals, and one month as hourly, both layouts."""
    q = {
        "narrow_daily": (
            "SELECT (interval_start AT TIME ZONE 'America/Chicago')::date, sum(kwh)"
            " FROM bench_usage_narrow WHERE service_account_id = %s AND channel = 'C'"
            " AND interval_start >= %s AND interval_start < %s GROUP BY 1 ORDER BY 1",
            "ts",
        ),
        "array_daily": (
            "SELECT day, sum(total_kwh) FROM usage_intervalday WHERE service_account_id = %s"
            " AND channel = 'C' AND day BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
            "day",
        ),
        "narrow_raw_year": (
            "SELECT interval_start, kwh FROM bench_usage_narrow WHERE service_account_id = %s"
            " AND channel = 'C' AND interval_start >= %s AND interval_start < %s",
            "ts",
        ),
        "array_raw_year": (
            "SELECT day_start, kwh FROM usage_intervalday WHERE service_account_id = %s"
            " AND channel = 'C' AND day BETWEEN %s AND %s",
            "day",
        ),
    }
    from usage.models import local_day_start

    out = {}
    with connection.cursor() as cursor:
        for name, (sql, kind) in q.items():
            args = (
                [sa_id, local_day_start(first), local_day_start(last + timedelta(days=1))]
                if kind == "ts"
                else [sa_id, first, last]
            )
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                cursor.execute(sql, args)
                cursor.fetchall()
                times.append((time.perf_counter() - t) * 1000)
            out[name] = pct(times, 0.5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--batch", type=int, default=730, help="day rows per ingest call")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()

    premises = bench_premises(args.meters)
    ids = [sa.pk for sa in premises]
    try:
        first = date(2025, 1, 1)
        rows = synthetic_rows(premises, first, args.days)
        readings = sum(len(r.values) for r in rows)
        print(
            f"{len(rows):,} day rows, {readings:,} readings ({args.meters} meters x {args.days} days)"
        )

        clear(ids)
        t_raw = raw_copy(rows, args.batch)
        clear(ids)
        t_ours = ours(rows, args.batch)
        # a second pass of ours over stored rows: every row is a conflict (revisions re-read)
        t_ours_update = ours(rows, args.batch)
        raw_rps, ours_rps = readings / t_raw, readings / t_ours
        print(f"raw COPY into usage_intervalday : {raw_rps:>12,.0f} readings/s ({t_raw:.2f} s)")
        print(f"ours (COPY staging + upsert)    : {ours_rps:>12,.0f} readings/s ({t_ours:.2f} s)")
        print(f"ours, all rows already stored   : {readings / t_ours_update:>12,.0f} readings/s")
        print(f"ratio ours / raw                : {ours_rps / raw_rps:.2f}")

        t_narrow = narrow_copy(rows)
        narrow_b, array_b, wh_b = sizes(ids)
        print(f"narrow layout raw COPY          : {readings / t_narrow:>12,.0f} readings/s")
        print(
            f"bytes per reading               : narrow {narrow_b:.1f}, day array {array_b:.1f}"
            f" ({narrow_b / array_b:.1f}x smaller), day array of integer Wh {wh_b:.1f}"
        )
        last = first + timedelta(days=min(args.days, 365) - 1)
        reads = read_meter_year(ids[0], first, last, args.reps)
        print(
            f"one meter-year, daily totals    : narrow {reads['narrow_daily']:.2f} ms,"
            f" day array {reads['array_daily']:.2f} ms"
        )
        print(
            f"one meter-year, every reading   : narrow {reads['narrow_raw_year']:.2f} ms,"
            f" day array {reads['array_raw_year']:.2f} ms"
        )
        result = {
            "ours_rows_per_s": round(ours_rps),
            "baseline_rows_per_s": round(raw_rps),
            "ratio": round(ours_rps / raw_rps, 2),
            "ours_update_rows_per_s": round(readings / t_ours_update),
            "narrow_copy_rows_per_s": round(readings / t_narrow),
            "bytes_per_reading_narrow": round(narrow_b, 1),
            "bytes_per_reading_array": round(array_b, 1),
            "bytes_per_reading_array_int_wh": round(wh_b, 1),
            "read_year_daily_ms_narrow": round(reads["narrow_daily"], 2),
            "read_year_daily_ms_array": round(reads["array_daily"], 2),
            "read_year_raw_ms_narrow": round(reads["narrow_raw_year"], 2),
            "read_year_raw_ms_array": round(reads["array_raw_year"], 2),
            "readings": readings,
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TABLE IF EXISTS bench_usage_narrow, bench_usage_array, bench_usage_array_wh"
            )
        cleanup()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
