"""Benchmark: Find an enrollment (/enrollments/) at production size.

Loads ``--rows`` enrollments (default 200,000), each with its own customer and premise, into
the real tables with set-based INSERT ... SELECT (varied names, ESIIDs, phones, emails,
billing account numbers, statuses, channels, two years of submission times), then times the
page as a signed-in agent for each kind of search, against two floors measured in the same
run: a bare authenticated staff page (GET /, the staff home) and the bare SQL the page runs
(the count and the page of rows, on a plain cursor). Everything it writes is rolled back.

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/find_enrollment.py \
        [--rows 200000] [--n 15]

Prints readable lines, then one JSON line (the last line of stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")
os.environ.setdefault("TESTING", "true")  # fast password hasher, dev defaults

import django  # noqa: E402

django.setup()

from _common import summary, timed  # noqa: E402 - bench/ is on sys.path
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

FIRST = ["Maria", "James", "Ana", "John", "Luis", "Mary", "Jose", "Linda", "David", "Rosa",
         "Michael", "Carmen", "Robert", "Elena", "William", "Sofia", "Daniel", "Laura"]  # fmt: skip
LAST = ["Garcia", "Smith", "Lopez", "Johnson", "Martinez", "Williams", "Hernandez", "Brown",
        "Gonzalez", "Jones", "Rodriguez", "Miller", "Perez", "Davis", "Sanchez", "Wilson",
        "Ramirez", "Moore", "Torres", "Taylor", "Flores", "Anderson", "Rivera", "Thomas"]  # fmt: skip

LOAD_SQL = """
WITH g AS (SELECT i FROM generate_series(1, %(rows)s) AS i)
INSERT INTO enrollments_customer (first_name, last_name, company_name, email, phone, language,
    notice_preference, date_of_birth, ssn, ssn_last4, drivers_license, billing_address_line1,
    billing_address_line2, billing_city, billing_state, billing_zip, created_at,
    customer_type_id)
SELECT (%(first)s::text[])[1 + i %% array_length(%(first)s::text[], 1)],
       (%(last)s::text[])[1 + (i / 7) %% array_length(%(last)s::text[], 1)]
           || CASE WHEN i %% 5 = 0 THEN '' ELSE (i %% 997)::text END,
       '', 'cust' || i || '@example.com',
       '(' || (200 + i %% 700) || ') 555-' || lpad((i %% 10000)::text, 4, '0'),
       'en', 'email', '', '', '', '', '', '', '', '', '', now(), %(ctype)s
FROM g
"""


def load(rows: int) -> dict:
    """Customers, premises and enrollments, set-based; returns a few values to search for."""
    from enrollments.models import CustomerType, Plan, Utility

    ctype = CustomerType.objects.order_by("pk").first()
    utility = Utility.objects.get(code="centerpoint")
    plan = Plan.objects.order_by("pk").first()
    with connection.cursor() as c:
        # The audit triggers (pghistory) are skipped for the load (superuser, this
        # transaction only): a history of bench rows is not what is measured, and row by row
        # they made the load take minutes.
        c.execute("SET LOCAL session_replication_role = replica")
        c.execute(LOAD_SQL, {"rows": rows, "first": FIRST, "last": LAST, "ctype": ctype.pk})
        # ids come from the sequence, which earlier (rolled back) runs moved on
        c.execute("SELECT min(id) FROM enrollments_customer WHERE email LIKE 'cust%%@example.com'")
        first_id = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO enrollments_serviceaccount (esiid, meter_number, address_line1,
                address_line2, city, state, zip_code, created_at, customer_id, utility_id)
            SELECT '1008901' || lpad(id::text, 15, '0'), '', id || ' Main St', '', 'Houston',
                   'TX', '77002', now(), id, %s
            FROM enrollments_customer WHERE id >= %s
            """,
            [utility.pk, first_id],
        )
        c.execute(
            """
            INSERT INTO enrollments_enrollment (channel, status, enrollment_type, rejection_reason,
                billing_account_number, esg_prospect_id, esg_customer_id, esg_billing_package_id,
                esg_token, created_at, submitted_at, updated_at, customer_id, plan_id,
                service_account_id, acknowledgements, affiliate_code, consent_user_agent,
                critical_care, deposit_alternative, signed_contract, esiid)
            SELECT (ARRAY['quick','wizard','api','import'])[1 + sa.id %% 4],
                   (ARRAY['active','dropped','rejected','moved_out','active'])[1 + sa.id %% 5],
                   'switch', '',
                   CASE WHEN sa.id %% 3 = 0 THEN '' ELSE 'BA' || lpad(sa.id::text, 10, '0') END,
                   '', '', '', '', now(),
                   now() - (sa.id %% 730) * interval '1 day' - (sa.id %% 1440) * interval '1 minute',
                   now(), sa.customer_id, %s, sa.id, '{}', '', '', false, false, false, sa.esiid
            FROM enrollments_serviceaccount sa WHERE sa.customer_id >= %s
            """,
            [plan.pk, first_id],
        )
        c.execute("SET LOCAL session_replication_role = origin")
        c.execute("ANALYZE enrollments_customer")
        c.execute("ANALYZE enrollments_serviceaccount")
        c.execute("ANALYZE enrollments_enrollment")
        mid = first_id + rows // 2 + 3
        c.execute(
            "SELECT c.phone, c.email, c.last_name, e.esiid, e.billing_account_number "
            "FROM enrollments_enrollment e JOIN enrollments_customer c ON c.id = e.customer_id "
            "WHERE c.id = %s",
            [mid],
        )
        phone, email, last_name, esiid, ban = c.fetchone()
    return {"phone": phone, "email": email, "last": last_name, "esiid": esiid, "ban": ban}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--n", type=int, default=15)
    args = parser.parse_args()
    setup_test_environment()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from enrollments.tests.factories import make_catalogue, make_staff

    results: dict = {}
    with connection.cursor() as c:
        # an earlier run's rolled-back rows are dead tuples every scan would still read
        c.execute(
            "VACUUM ANALYZE enrollments_enrollment, enrollments_customer, "
            "enrollments_serviceaccount"
        )
    try:
        with transaction.atomic():
            make_catalogue()
            t0 = time.perf_counter()
            found = load(args.rows)
            results["load_s"] = round(time.perf_counter() - t0, 1)
            client = Client()
            client.force_login(make_staff("bench-finder", "Agent"))
            phone = found["phone"]
            typed_phone = f"{phone[1:4]}.{phone[6:9]}.{phone[10:]}"  # another format
            cases = {
                "no_filter": {},
                "esiid_exact": {"q": found["esiid"]},
                "esiid_prefix": {"q": found["esiid"][:18]},  # the part an agent reads out
                "last_name_prefix": {"q": found["last"][:5]},
                "first_and_last": {"q": f"Maria {found['last'][:4]}"},
                "phone_punctuated": {"q": typed_phone},
                "email": {"q": found["email"]},
                "billing_account": {"q": found["ban"] or "BA0000000001"},
                "status_and_dates": {
                    "status": "active",
                    "submitted_from": "2026-01-01",
                    "submitted_to": "2026-03-31",
                },
                "deep_page": {"page": "500"},
            }

            def baseline():
                assert client.get("/").status_code == 200

            results["baseline"] = summary(timed(baseline, args.n))
            for name, params in cases.items():

                def page(params=params):
                    r = client.get("/enrollments/", params)
                    assert r.status_code == 200, r.status_code
                    return r

                reset_queries()  # DEBUG keeps a bounded log; start the capture from empty
                with CaptureQueriesContext(connection) as ctx:
                    body = page().content.decode()
                search_sql = [
                    q["sql"] for q in ctx.captured_queries if "enrollments_enrollment" in q["sql"]
                ]

                def bare(sqls=search_sql):
                    with connection.cursor() as c:
                        for sql in sqls:
                            c.execute(sql)
                            c.fetchall()

                figures = summary(timed(page, args.n))
                floor = summary(timed(bare, args.n))
                figures |= {
                    "sql_p50_ms": floor["p50_ms"],
                    "sql_p95_ms": floor["p95_ms"],
                    "queries": len(ctx.captured_queries),
                    "rows_shown": body.count("<tr>") - ("No enrollment matches" in body),
                    "ratio_p50_to_sql_plus_page": round(
                        figures["p50_ms"]
                        / max(floor["p50_ms"] + results["baseline"]["p50_ms"], 0.01),
                        2,
                    ),
                }
                results[name] = figures
            raise transaction.TransactionManagementError("rollback")
    except transaction.TransactionManagementError:
        pass

    load_avg = os.getloadavg()
    print(f"Find an enrollment, {args.rows:,} enrollments (load {results['load_s']} s), n={args.n}")
    print(f"load average {load_avg[0]:.2f} (2 shared cores)")
    b = results["baseline"]
    print(f"  bare staff page        p50 {b['p50_ms']:7.1f} ms  p95 {b['p95_ms']:7.1f} ms")
    for name, f in results.items():
        if not isinstance(f, dict) or name == "baseline":
            continue
        print(
            f"  {name:18s} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms | its SQL p50 "
            f"{f['sql_p50_ms']:6.1f} ms | {f['ratio_p50_to_sql_plus_page']:.2f}x SQL + bare page "
            f"| {f['queries']} queries"
        )
    results["rows"] = args.rows
    results["load_avg_1m"] = round(load_avg[0], 2)
    results["worst_p95_ms"] = max(
        f["p95_ms"] for k, f in results.items() if isinstance(f, dict) and k != "baseline"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
