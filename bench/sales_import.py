"""Benchmark: a Sales Importer file end to end (sniff + parse, every row validated by
enrollment_submit, customers, premises, enrollments, events, partner links and billing
outbox rows written, progress updated) against a bare ``bulk_create`` of the same rows'
customers, premises, enrollments and outbox rows, in the same run.

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/sales_import.py \
        [--rows 2000]

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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

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


def baseline(rows: list[dict[str, str]], utility, ctype, plan) -> tuple[float, list[int]]:
    """The same rows written with four bulk_creates, no validation."""
    start = time.perf_counter()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
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
            batch_size=2000,
        )
        premises = ServiceAccount.objects.bulk_create(
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
            batch_size=2000,
        )
        now = timezone.now()
        enrollments = Enrollment.objects.bulk_create(
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
            batch_size=2000,
        )
        BillingRequest.objects.bulk_create(
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
            batch_size=2000,
        )
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
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

    start = time.perf_counter()
    with connection.execute_wrapper(count):
        batch = import_batch_create(partner=partner, file_name="bench.csv", content=content)
        batch = import_batch_process(batch_id=batch.pk)
    ours_s = time.perf_counter() - start
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

    cleanup(ours_ids)
    cleanup(base_ids)
    ImportBatch.objects.filter(pk=batch.pk).delete()
    Partner.objects.filter(pk=partner.pk).delete()
    celery_app.control.purge()  # the Create Prospect sends this run enqueued

    ours = args.rows / ours_s
    base = args.rows / base_s
    print(
        f"importer end to end: {ours_s:.1f} s, {ours:,.0f} rows/s (validated, enrollments + outbox)"
    )
    print(f"bare bulk_create:    {base_s:.2f} s, {base:,.0f} rows/s")
    print(f"ratio importer/bulk_create: {ours / base:.3f}")
    print(f"SQL statements per row (upload + import): {statements[0] / args.rows:.1f}")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "ours_rows_per_s": round(ours, 1),
                "baseline_rows_per_s": round(base, 1),
                "ratio": round(ours / base, 4),
                "ours_seconds": round(ours_s, 2),
                "statements_per_row": round(statements[0] / args.rows, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
