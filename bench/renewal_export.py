"""Benchmark: the Renewal Notices Excel export vs a bare openpyxl write-only file.

Creates N renewal notices (inside a transaction that is rolled back), then writes the export
the product writes (ORM rows, formula-safe text cells, bold frozen header, widths,
autofilter) and a bare openpyxl write-only file of the same rows read with a raw
server-side cursor. Prints seconds (best of --repeat) and peak Python memory (tracemalloc)
for both, and our peak at N/10 to show memory stays flat. Ends with one JSON line.

    DEBUG=true DATABASE_URL=... .venv/bin/python bench/renewal_export.py --rows 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from enrollments.models import Customer, Enrollment, Plan, ServiceAccount  # noqa: E402
from opsadmin.models import CustomerType, Utility  # noqa: E402
from renewals.export import write_renewal_export  # noqa: E402
from renewals.models import RenewalNotice  # noqa: E402
from renewals.selectors import (  # noqa: E402
    EXPORT_HEADERS,
    RenewalFilters,
    renewal_notice_rows,
    renewal_notices,
)

BASELINE_SQL = """
SELECT COALESCE(NULLIF(c.company_name, ''), c.first_name || ' ' || c.last_name),
       e.billing_account_number, s.esiid, u.name, n.current_plan_code, n.default_plan_code,
       n.contract_end_date, n.sequence, n.scheduled_for,
       CASE n.channel WHEN 'email' THEN 'Email' ELSE 'Letter' END,
       CASE WHEN n.sent THEN 'Yes' ELSE 'No' END,
       (n.sent_at AT TIME ZONE 'America/Chicago')::date
FROM renewals_renewalnotice n
JOIN enrollments_enrollment e ON e.id = n.enrollment_id
JOIN enrollments_customer c ON c.id = e.customer_id
JOIN enrollments_serviceaccount s ON s.id = e.service_account_id
JOIN opsadmin_utility u ON u.id = s.utility_id
WHERE n.id >= %s
ORDER BY n.contract_end_date, n.enrollment_id, n.sequence
"""


def seed(rows: int) -> int:
    """Create ``rows`` notices (3 per enrollment); returns the first notice id."""
    utility, _ = Utility.objects.get_or_create(
        code="bench-util", defaults={"name": "Bench Utility"}
    )
    ctype, _ = CustomerType.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    mtm, _ = Plan.objects.get_or_create(
        code="BENCH-MTM", defaults={"name": "MTM", "term_months": 1, "energy_charge_cents": 13}
    )
    plan, _ = Plan.objects.get_or_create(
        code="BENCH-12",
        defaults={
            "name": "Fixed 12",
            "term_months": 12,
            "energy_charge_cents": Decimal("11.5"),
            "renewal_plan": mtm,
        },
    )
    n_enroll = (rows + 2) // 3
    customers = Customer.objects.bulk_create(
        [
            Customer(
                customer_type=ctype,
                first_name=f"First{i}",
                last_name=("=" if i % 97 == 0 else "") + f"Last{i}",  # some formula-like text
                company_name="Acme Inc" if i % 5 == 0 else "",
                email=f"b{i}@example.com",
                notice_preference="letter" if i % 3 == 0 else "email",
            )
            for i in range(n_enroll)
        ],
        batch_size=5000,
    )
    premises = ServiceAccount.objects.bulk_create(
        [
            ServiceAccount(
                customer=c,
                utility=utility,
                esiid=f"1008901{i:015d}",
                address_line1=f"{i} Main",
                city="Houston",
                zip_code="77002",
            )
            for i, c in enumerate(customers)
        ],
        batch_size=5000,
    )
    end0 = date(2026, 1, 1)
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                customer=c,
                service_account=p,
                plan=plan,
                channel="quick",
                status="active",
                contract_end_date=end0 + timedelta(days=i % 365),
                billing_account_number=f"BA{i:08d}" if i % 4 else "",
            )
            for i, (c, p) in enumerate(zip(customers, premises, strict=True))
        ],
        batch_size=5000,
    )
    notices = []
    for e in enrollments:
        for seq in (1, 2, 3):
            if len(notices) == rows:
                break
            notices.append(
                RenewalNotice(
                    enrollment=e,
                    contract_end_date=e.contract_end_date,
                    sequence=seq,
                    scheduled_for=e.contract_end_date - timedelta(days=30 * (4 - seq)),
                    channel=e.customer.notice_preference,
                    current_plan_code="BENCH-12",
                    default_plan_code="BENCH-MTM",
                    status="sent" if seq == 1 else "scheduled",
                    sent=seq == 1,
                    sent_at=None,
                )
            )
    created = RenewalNotice.objects.bulk_create(notices, batch_size=5000)
    first_id = min(n.pk for n in created)
    RenewalNotice.objects.filter(pk__gte=first_id, sequence=1).update(sent_at=django_now())
    return first_id


def django_now():
    from django.utils import timezone

    return timezone.now()


def ours(path: str, first_id: int) -> int:
    # Same rows as the baseline: this run's notices (the filters take no id; the queryset does).
    import renewals.selectors as sel

    original = sel.renewal_notices

    def only_bench(*, filters):
        return original(filters=filters).filter(pk__gte=first_id)

    sel.renewal_notices = only_bench
    try:
        return write_renewal_export(rows=renewal_notice_rows(filters=RenewalFilters()), out=path)
    finally:
        sel.renewal_notices = original


def baseline(path: str, first_id: int) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Renewal Notices")
    ws.append(list(EXPORT_HEADERS))
    count = 0
    raw = connection.connection
    with raw.cursor(name="bench_baseline") as cursor:
        cursor.itersize = 5000
        cursor.execute(BASELINE_SQL, [first_id])
        for row in cursor:
            ws.append(row)
            count += 1
    wb.save(path)
    return count


def timed(fn, path: str, first_id: int) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = fn(path, first_id)
    return time.perf_counter() - start, count


def peak(fn, path: str, first_id: int) -> int:
    gc.collect()
    tracemalloc.start()
    fn(path, first_id)
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="notices to export")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best kept)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="renewal-bench-"))
    ours_path, base_path = str(tmp / "ours.xlsx"), str(tmp / "baseline.xlsx")

    with transaction.atomic():
        t0 = time.perf_counter()
        first_id = seed(args.rows)
        print(f"seeded {args.rows} notices in {time.perf_counter() - t0:.1f}s")
        assert (
            renewal_notices(filters=RenewalFilters()).filter(pk__gte=first_id).count() == args.rows
        )

        ours_times, base_times = [], []
        for _ in range(args.repeat):
            t, n_base = timed(baseline, base_path, first_id)
            base_times.append(t)
            t, n_ours = timed(ours, ours_path, first_id)
            ours_times.append(t)
        assert n_ours == n_base == args.rows
        size_mb = os.path.getsize(ours_path) / 1e6
        # The two files hold the same values.
        a = load_workbook(ours_path, read_only=True).active
        b = load_workbook(base_path, read_only=True).active
        assert list(a.iter_rows(min_row=2, max_row=50, values_only=True)) == list(
            b.iter_rows(min_row=2, max_row=50, values_only=True)
        )

        ours_peak = peak(ours, ours_path, first_id)
        base_peak = peak(baseline, base_path, first_id)
        # Flat memory: our peak on a tenth of the rows.
        small_first = (
            RenewalNotice.objects.filter(pk__gte=first_id)
            .order_by("-pk")
            .values_list("pk", flat=True)[max(args.rows // 10 - 1, 0)]
        )
        ours_small_peak = peak(ours, ours_path, small_first)
        transaction.set_rollback(True)

    best_ours, best_base = min(ours_times), min(base_times)
    print(f"rows:            {args.rows}")
    print(
        f"ours:            {best_ours:.2f}s  ({args.rows / best_ours:,.0f} rows/s), peak {ours_peak / 1e6:.1f} MB"
    )
    print(
        f"bare openpyxl:   {best_base:.2f}s  ({args.rows / best_base:,.0f} rows/s), peak {base_peak / 1e6:.1f} MB"
    )
    print(f"time ratio:      {best_ours / best_base:.2f}  (goal <= 1.3)")
    print(
        f"ours at N/10:    peak {ours_small_peak / 1e6:.1f} MB (memory flat if close to the N figure)"
    )
    print(f"file size:       {size_mb:.1f} MB")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "ours_s": round(best_ours, 3),
                "baseline_s": round(best_base, 3),
                "ratio": round(best_ours / best_base, 3),
                "ours_rows_per_s": round(args.rows / best_ours),
                "baseline_rows_per_s": round(args.rows / best_base),
                "ours_peak_mb": round(ours_peak / 1e6, 2),
                "baseline_peak_mb": round(base_peak / 1e6, 2),
                "ours_peak_mb_at_tenth": round(ours_small_peak / 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
