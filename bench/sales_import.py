"""Benchmark: a Sales Importer file end to end (sniff + parse, every row validated by
enrollment_submit, customers, premises, enrollments, events, partner links and billing
outbox rows written, progress updated) against two floors of the same rows' customers,
premises, enrollments and outbox rows, in the same run: a bare ``bulk_create`` and a bare
COPY (ids drawn from the sequences first, every column as Django would write it). A
pyinstrument profile of a separate smaller import (``--profile-rows``) prints where the
importer's time goes; the process's resident memory is read before and after the import.
Memory: the importer's peak of traced Python memory (tracemalloc) while it processes a file
of each size in ``--memory-rows`` (default 10,000 and 50,000 rows; the row and size limits
are lifted for it): flat means the peak does not follow the file's length beyond the file
itself (the file is streamed, one chunk of rows at a time).

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/sales_import.py \
        [--rows 2000] [--profile-rows 500] [--memory-rows 10000 50000]

The issue's figure is for --rows 10000. Needs a migrated database and Redis (the outbox
rows are enqueued after commit as in production; the queue is purged at the end). Leaves
no rows behind. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import secrets
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from _common import format_split, profile_split  # noqa: E402 - bench/ is on sys.path
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing.models import BillingRequest  # noqa: E402
from enrollments.models import Customer, Enrollment, Plan, ServiceAccount  # noqa: E402
from opsadmin.celery import app as celery_app  # noqa: E402
from opsadmin.models import CustomerType, ServiceArea, Utility  # noqa: E402
from partners.importfile import COLUMN_NAMES  # noqa: E402
from partners.models import ImportBatch, Partner, PartnerEnrollment  # noqa: E402
from partners.services import (  # noqa: E402
    import_batch_create,
    import_batch_process,
    partner_get_or_create,
)

PREFIX = "1099999"  # a bench-only TDSP prefix


def reference_data():
    utility, _ = Utility.objects.get_or_create(
        code="bench-tdsp",
        defaults={"name": "Bench TDSP", "market": "ERCOT", "esiid_prefixes": [PREFIX]},
    )
    ServiceArea.objects.get_or_create(utility=utility, zip_code="75999")
    ctype, _ = CustomerType.objects.get_or_create(
        code="residential", defaults={"name": "Residential"}
    )
    plan, _ = Plan.objects.get_or_create(
        code="BENCH12",
        defaults={"name": "Bench 12", "term_months": 12, "energy_charge_cents": Decimal("12")},
    )
    plan.utilities.add(utility)
    plan.customer_types.add(ctype)
    return utility, ctype, plan


def make_rows(n: int, run: str) -> list[dict[str, str]]:
    base = int(secrets.token_hex(4), 16) % 10**9
    rows = []
    for i in range(n):
        values = dict.fromkeys(COLUMN_NAMES, "")
        values.update(
            partner_reference=f"{run}-{i}",
            zip_code="75999",
            utility_code="bench-tdsp",
            customer_type_code="residential",
            plan_code="BENCH12",
            first_name=f"Bench{i}",
            last_name="Row",
            email=f"bench{i}@example.com",
            phone="2145550100",
            esiid=f"{PREFIX}{(base + i) % 10**10:010d}",
            address_line1=f"{i} Bench St",
            city="Dallas",
            state="TX",
        )
        rows.append(values)
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMN_NAMES))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _objects(rows, utility, ctype, plan, *, write):
    """The four models' rows for ``rows``; ``write(model, objs)`` stores each list and gives
    the objects their primary keys (bulk_create or COPY)."""
    customers = write(
        Customer,
        [
            Customer(
                customer_type=ctype,
                first_name=r["first_name"],
                last_name=r["last_name"],
                email=r["email"],
                phone=r["phone"],
            )
            for r in rows
        ],
    )
    premises = write(
        ServiceAccount,
        [
            ServiceAccount(
                customer=c,
                utility=utility,
                esiid="B" + r["esiid"],  # not an open enrollment's ESIID
                address_line1=r["address_line1"],
                city=r["city"],
                zip_code=r["zip_code"],
            )
            for c, r in zip(customers, rows, strict=True)
        ],
    )
    now = timezone.now()
    enrollments = write(
        Enrollment,
        [
            Enrollment(
                customer=c,
                service_account=p,
                plan=plan,
                channel="importer",
                status="draft",
                submitted_at=now,
            )
            for c, p in zip(customers, premises, strict=True)
        ],
    )
    write(
        BillingRequest,
        [
            BillingRequest(
                kind="create_prospect",
                subject_type="bench",
                subject_id=e.pk,
                payload={"enrollment_id": e.pk},
                idempotency_key=f"bench:{e.pk}",
            )
            for e in enrollments
        ],
    )
    return enrollments


def _bulk_create(model, objs):
    return model.objects.bulk_create(objs, batch_size=2000)


def _copy(model, objs):
    """COPY ... FROM STDIN of ``objs``: ids from the table's sequence first (the rows after
    refer to them), every concrete column as Django would save it (pre_save, db prep)."""
    meta = model._meta
    table = meta.db_table
    # generated columns (e.g. Customer.phone_digits) are computed by PostgreSQL, never written
    fields = [f for f in meta.concrete_fields if not getattr(f, "generated", False)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        raw = cursor.cursor  # psycopg's cursor under Django's wrapper
        with raw.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
    return objs


def baseline(rows: list[dict[str, str]], utility, ctype, plan, *, how=_bulk_create):
    """The same rows written with four bulk_creates (or four COPYs), no validation."""
    start = time.perf_counter()
    with transaction.atomic():
        enrollments = _objects(rows, utility, ctype, plan, write=how)
    return time.perf_counter() - start, [e.pk for e in enrollments]


def cleanup(enrollment_ids: list[int]) -> None:
    with transaction.atomic():
        enrollments = Enrollment.objects.filter(pk__in=enrollment_ids)
        customers = list(enrollments.values_list("customer_id", flat=True))
        premises = list(enrollments.values_list("service_account_id", flat=True))
        BillingRequest.objects.filter(
            subject_type__in=["enrollment", "bench"], subject_id__in=enrollment_ids
        ).delete()
        PartnerEnrollment.objects.filter(enrollment_id__in=enrollment_ids).delete()
        enrollments.delete()
        ServiceAccount.objects.filter(pk__in=premises).delete()
        Customer.objects.filter(pk__in=customers).delete()


def memory_peak(partner, rows: int, run: str) -> tuple[int, int]:
    """(peak traced bytes while ``import_batch_process`` runs, file bytes) for a file of
    ``rows`` rows; the limits on rows and bytes are lifted for the measurement."""
    from django.test.utils import override_settings

    content = to_csv(make_rows(rows, run))
    with override_settings(
        PARTNERS_IMPORT_MAX_ROWS=rows + 1, PARTNERS_IMPORT_MAX_BYTES=len(content) + 1
    ):
        batch = import_batch_create(partner=partner, file_name=f"m{rows}.csv", content=content)
        tracemalloc.start()
        try:
            batch = import_batch_process(batch_id=batch.pk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert batch.created_count == rows, (batch.created_count, batch.error_count)
    cleanup(
        list(PartnerEnrollment.objects.filter(batch=batch).values_list("enrollment_id", flat=True))
    )
    ImportBatch.objects.filter(pk=batch.pk).delete()
    return peak, len(content)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--profile-rows", type=int, default=500)
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[10_000, 50_000])
    args = parser.parse_args()
    # DEBUG=true (for the dev settings) would keep every statement's SQL text in
    # connection.queries, a memory cost production does not have: not measured here.
    from django.conf import settings

    settings.DEBUG = False
    utility, ctype, plan = reference_data()
    run = secrets.token_hex(4)
    partner, _ = partner_get_or_create(name=f"Bench partner {run}")
    rows = make_rows(args.rows, run)
    content = to_csv(rows)
    print(f"file: {args.rows} rows, {len(content) / 1024:.0f} KB CSV")

    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    # a small import first (not timed): modules, templates and connections loaded once
    # would otherwise count as the import's memory
    warm = import_batch_create(
        partner=partner, file_name="w.csv", content=to_csv(make_rows(20, run + "w"))
    )
    warm = import_batch_process(batch_id=warm.pk)
    warm_ids = list(
        PartnerEnrollment.objects.filter(batch=warm).values_list("enrollment_id", flat=True)
    )
    process = psutil.Process()
    rss_before = process.memory_info().rss
    start = time.perf_counter()
    with connection.execute_wrapper(count):
        batch = import_batch_create(partner=partner, file_name="bench.csv", content=content)
        batch = import_batch_process(batch_id=batch.pk)
    ours_s = time.perf_counter() - start
    rss_after = process.memory_info().rss
    assert batch.created_count == args.rows, (batch.created_count, batch.error_count)
    ours_ids = list(
        PartnerEnrollment.objects.filter(batch=batch).values_list("enrollment_id", flat=True)
    )
    assert (
        BillingRequest.objects.filter(
            kind="create_prospect", subject_type="enrollment", subject_id__in=ours_ids
        ).count()
        == args.rows
    )

    base_s, base_ids = baseline(rows, utility, ctype, plan)
    cleanup(base_ids)
    copy_s, copy_ids = baseline(rows, utility, ctype, plan, how=_copy)
    cleanup(copy_ids)
    cleanup(ours_ids)
    cleanup(warm_ids)
    ImportBatch.objects.filter(pk__in=[batch.pk, warm.pk]).delete()

    # where the importer's time goes: a smaller file, profiled (the timing above is not)
    small = make_rows(args.profile_rows, run + "p")
    small_content = to_csv(small)
    profiled_batches = []

    def small_import():
        b = import_batch_create(partner=partner, file_name="p.csv", content=small_content)
        profiled_batches.append(import_batch_process(batch_id=b.pk))

    split = profile_split(small_import, n=1)
    split_per_row = {k: round(v / args.profile_rows, 3) for k, v in split.items()}
    for b in profiled_batches:
        cleanup(
            list(PartnerEnrollment.objects.filter(batch=b).values_list("enrollment_id", flat=True))
        )
        ImportBatch.objects.filter(pk=b.pk).delete()
    memory = {}
    for n in args.memory_rows:
        peak, size = memory_peak(partner, n, f"{run}m{n}")
        memory[n] = {"peak_mib": round(peak / 2**20, 1), "file_mib": round(size / 2**20, 1)}
    Partner.objects.filter(pk=partner.pk).delete()
    celery_app.control.purge()  # the Create Prospect sends this run enqueued

    ours = args.rows / ours_s
    base = args.rows / base_s
    copy_rate = args.rows / copy_s
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 shared cores)")
    print(
        f"importer end to end: {ours_s:.1f} s, {ours:,.0f} rows/s (validated, enrollments + outbox)"
    )
    print(f"bare bulk_create:    {base_s:.2f} s, {base:,.0f} rows/s")
    print(f"bare COPY:           {copy_s:.2f} s, {copy_rate:,.0f} rows/s")
    print(f"ratio importer/bulk_create: {ours / base:.3f}; importer/COPY: {ours / copy_rate:.3f}")
    print(f"SQL statements per row (upload + import): {statements[0] / args.rows:.1f}")
    print(f"resident memory during the import: +{(rss_after - rss_before) / 2**20:.1f} MiB")
    for n, m in memory.items():
        print(
            f"peak traced memory importing {n:,} rows: {m['peak_mib']:.1f} MiB "
            f"(the file itself: {m['file_mib']:.1f} MiB)"
        )
    print(f"importer profile, {args.profile_rows} rows, ms per row: {format_split(split_per_row)}")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "ours_rows_per_s": round(ours, 1),
                "baseline_rows_per_s": round(base, 1),
                "copy_rows_per_s": round(copy_rate, 1),
                "ratio": round(ours / base, 4),
                "ratio_to_copy": round(ours / copy_rate, 4),
                "ours_seconds": round(ours_s, 2),
                "statements_per_row": round(statements[0] / args.rows, 2),
                "rss_growth_mib": round((rss_after - rss_before) / 2**20, 1),
                "memory_peak": {str(n): m for n, m in memory.items()},
                "load_avg_1m": round(load[0], 2),
                "split_ms_per_row": split_per_row,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
