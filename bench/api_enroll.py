"""Benchmark: POST /api/v1/enrollments latency at 20 concurrent clients, through gunicorn,
against a bare authenticated GET (/api/v1/service-areas/{zip}: same server, auth and rate
limit, no enrollment) at the same concurrency in the same run.

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/api_enroll.py \
        [--clients 20] [--per-client 10] [--workers 4]

Each client has its own key (the per-key rate limit stays out of the figures). Needs a
migrated database and Redis; starts its own gunicorn; leaves no rows behind. Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

from _common import free_port  # noqa: E402 - bench/ is on sys.path when run as a script
from sales_import import PREFIX, cleanup, reference_data  # noqa: E402

from opsadmin.celery import app as celery_app  # noqa: E402
from partners.models import Partner, PartnerEnrollment  # noqa: E402
from partners.services import api_key_create, partner_get_or_create  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run_clients(clients: int, work) -> list[float]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(work, range(clients)))
    return [t for r in results for t in r]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    reference_data()
    run = secrets.token_hex(4)
    partner, _ = partner_get_or_create(name=f"Bench API {run}")
    keys = [api_key_create(partner=partner)[1] for _ in range(args.clients)]
    base = int(secrets.token_hex(4), 16) % 10**9

    port = free_port()
    env = dict(os.environ, CONN_MAX_AGE="60", LOG_LEVEL="WARNING")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "opsadmin.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        def read(i: int) -> list[float]:
            headers = {"Authorization": f"Bearer {keys[i]}"}
            times = []
            with httpx.Client(headers=headers, timeout=30) as client:
                for _ in range(args.per_client):
                    t = time.perf_counter()
                    r = client.get(f"{url}/service-areas/75999")
                    times.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
            return times

        statuses: list[int] = []

        def create(i: int) -> list[float]:
            headers = {"Authorization": f"Bearer {keys[i]}"}
            times = []
            with httpx.Client(headers=headers, timeout=30) as client:
                for j in range(args.per_client):
                    n = i * args.per_client + j
                    body = {
                        "partner_reference": f"{run}-{n}",
                        "zip_code": "75999",
                        "utility_code": "bench-tdsp",
                        "customer_type_code": "residential",
                        "plan_code": "BENCH12",
                        "first_name": "Api",
                        "last_name": f"Bench{n}",
                        "email": f"api{n}@example.com",
                        "esiid": f"{PREFIX}{(base + n) % 10**10:010d}",
                        "address_line1": f"{n} Api St",
                        "city": "Dallas",
                    }
                    t = time.perf_counter()
                    r = client.post(
                        f"{url}/enrollments", json=body, headers={"Idempotency-Key": f"{run}-{n}"}
                    )
                    times.append(time.perf_counter() - t)
                    statuses.append(r.status_code)
            return times

        read(0)  # warm every worker's imports a little
        read_times = run_clients(args.clients, read)
        create_times = run_clients(args.clients, create)
    finally:
        server.terminate()
        server.wait(20)
        ids = list(
            PartnerEnrollment.objects.filter(partner=partner).values_list(
                "enrollment_id", flat=True
            )
        )
        cleanup(ids)
        Partner.objects.filter(pk=partner.pk).delete()
        celery_app.control.purge()
    created = statuses.count(201)
    total = args.clients * args.per_client
    assert created == total, f"{created} of {total} created; statuses {set(statuses)}"
    figures = {
        "clients": args.clients,
        "requests": total,
        "create_p50_ms": round(statistics.median(create_times) * 1000, 1),
        "create_p95_ms": round(percentile(create_times, 95) * 1000, 1),
        "baseline_get_p50_ms": round(statistics.median(read_times) * 1000, 1),
        "baseline_get_p95_ms": round(percentile(read_times, 95) * 1000, 1),
    }
    figures["ratio_p50"] = round(figures["create_p50_ms"] / figures["baseline_get_p50_ms"], 2)
    print(f"{total} creates at {args.clients} concurrent clients ({args.workers} gunicorn workers)")
    print(f"create:   p50 {figures['create_p50_ms']} ms, p95 {figures['create_p95_ms']} ms")
    print(
        f"baseline GET: p50 {figures['baseline_get_p50_ms']} ms, "
        f"p95 {figures['baseline_get_p95_ms']} ms"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
