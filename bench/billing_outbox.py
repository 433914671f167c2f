"""Benchmark: Create Prospects sent through the billing outbox (rows -> Celery worker ->
ESG simulator) against the simulator's raw capacity measured with the same client, the
same concurrency, in the same run.

    DATABASE_URL=... REDIS_URL=... DEBUG=true .venv/bin/python bench/billing_outbox.py \
        [--n 1000] [--concurrency 4] [--batch 50] [--threads 16]

The outbox figure runs from the first row written to the last row acknowledged: 1,000 rows
written by ``billing_request_create`` in one transaction, coalesced after commit into one
Celery task per ``--batch`` rows, each task claiming its rows in one statement, sending them
with ``--threads`` concurrent calls and recording the answers in one transaction. The
write and drain phases are also printed separately.

Needs a migrated database and Redis; starts its own simulators process and Celery worker.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsadmin.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from billing.adapters.esg import esg_client  # noqa: E402
from billing.models import BillingRequest  # noqa: E402
from billing.services import billing_request_create  # noqa: E402
from opsadmin.celery import app as celery_app  # noqa: E402
from opsadmin.models import ThirdPartyProvider  # noqa: E402

PAYLOAD = {
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Bench", "last_name": "Mark", "email": "b@example.com"},
    "service_address": {"line1": "1 Bench St", "city": "Houston", "state": "TX", "zip": "77002"},
}


from _common import free_port  # noqa: E402 - bench/ is on sys.path when run as a script


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def payload(i: int) -> dict:
    return {**PAYLOAD, "esiid": f"1008901{i:010d}", "enrollment_id": i}


def raw_capacity(n: int, concurrency: int, run: str) -> float:
    """The same client class, ``concurrency`` threads, each with its own pooled client."""
    chunks = [list(range(k, n, concurrency)) for k in range(concurrency)]

    def worker(indexes: list[int]) -> None:
        with esg_client() as client:
            for i in indexes:
                client.create_prospect(payload(i), f"raw:{run}:{i}")

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, chunks))
    return n / (time.perf_counter() - start)


def through_outbox(n: int, run: str, timeout: float = 600) -> tuple[float, int, float]:
    """Rows written (one transaction) -> all acknowledged. Returns (rows/s, attempts, write s)."""
    start = time.perf_counter()
    with transaction.atomic():  # one transaction, as many writers would commit many
        for i in range(n):
            billing_request_create(
                kind="create_prospect",
                subject_type="bench",
                subject_id=i,
                payload=payload(i),
                idempotency_key=f"bench:{run}:{i}",
            )
    written = time.perf_counter() - start
    rows = BillingRequest.objects.filter(
        subject_type="bench", idempotency_key__startswith=f"bench:{run}:"
    )
    deadline = time.monotonic() + timeout
    while rows.exclude(state=BillingRequest.State.SENT).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("outbox did not drain in time")
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    attempts = sum(rows.values_list("attempts", flat=True))
    return n / elapsed, attempts, written


def single_latency(k: int, run: str) -> tuple[float, float]:
    """One row per transaction (one enrollment): commit -> acknowledged, p50 and max in ms
    over ``k`` rows sent one after the other."""
    samples = []
    for i in range(k):
        start = time.perf_counter()
        with transaction.atomic():
            row = billing_request_create(
                kind="create_prospect",
                subject_type="bench",
                subject_id=i,
                payload=payload(100_000 + i),
                idempotency_key=f"bench1:{run}:{i}",
            )
        deadline = time.monotonic() + 30
        while not BillingRequest.objects.filter(pk=row.pk, state="sent").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("single row not sent in time")
            time.sleep(0.001)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, help="BILLING_SEND_BATCH (rows per task)")
    parser.add_argument("--threads", type=int, help="BILLING_SEND_THREADS (calls per task)")
    args = parser.parse_args()
    from django.conf import settings

    if args.batch:
        os.environ["BILLING_SEND_BATCH"] = str(args.batch)
        settings.BILLING_SEND_BATCH = args.batch  # this process cuts the batches
    if args.threads:
        os.environ["BILLING_SEND_THREADS"] = str(args.threads)  # the worker sends

    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    # the child processes log to stderr: the JSON line stays the last line of stdout
    sim = subprocess.Popen(
        [sys.executable, "-m", "simulators", "--port", str(port)], cwd=ROOT, stdout=sys.stderr
    )
    worker = None
    figures: dict | None = None
    provider = ThirdPartyProvider.load()
    saved = (provider.esg_api_url, provider.esg_api_key)
    run = uuid.uuid4().hex[:8]
    try:
        wait_http(f"{sim_url}/_health")
        provider.esg_api_url = f"{sim_url}/esg"
        provider.esg_api_key = "bench-key"
        provider.save()
        with celery_app.connection_for_write() as conn:
            conn.default_channel.client.flushdb()
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
                "-P",
                "prefork",
                "-c",
                str(args.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            stdout=sys.stderr,
        )
        deadline = time.monotonic() + 30
        while not celery_app.control.ping(timeout=0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("worker did not answer")

        # warm-up (imports, connections) outside the measurements
        raw_capacity(20, args.concurrency, f"warm{run}")
        through_outbox(20, f"warm{run}")
        httpx.delete(f"{sim_url}/_state")

        baseline = raw_capacity(args.n, args.concurrency, run)
        httpx.delete(f"{sim_url}/_state")
        ours, attempts, written = through_outbox(args.n, run)
        stats = httpx.get(f"{sim_url}/esg/_stats").json()
        p50, worst = single_latency(20, run)
        ratio = ours / baseline
        print(
            f"simulator raw capacity (same client, {args.concurrency} threads): {baseline:,.0f} req/s"
        )
        print(f"through the outbox ({args.concurrency} worker processes):        {ours:,.0f} req/s")
        print(
            f"  of which writing {args.n} rows (one transaction): {written:.2f} s; "
            f"draining: {args.n / ours - written:.2f} s "
            f"(batch {settings.BILLING_SEND_BATCH}, threads "
            f"{os.environ.get('BILLING_SEND_THREADS', settings.BILLING_SEND_THREADS)})"
        )
        print(
            f"one row per transaction, commit -> acknowledged: p50 {p50:.1f} ms, max {worst:.1f} ms"
        )
        print(
            f"ratio: {ratio:.2f}; attempts {attempts} for {args.n} rows; "
            f"prospects in simulator {stats['prospects']}"
        )
        figures = {
            "n": args.n,
            "concurrency": args.concurrency,
            "ours_requests_per_s": round(ours, 1),
            "baseline_requests_per_s": round(baseline, 1),
            "ratio": round(ratio, 3),
            "prospects": stats["prospects"],
            "attempts": attempts,
            "write_s": round(written, 3),
            "single_row_p50_ms": round(p50, 1),
            "single_row_max_ms": round(worst, 1),
            "batch": settings.BILLING_SEND_BATCH,
            "threads": int(os.environ.get("BILLING_SEND_THREADS", settings.BILLING_SEND_THREADS)),
        }
    finally:
        BillingRequest.objects.filter(subject_type="bench").delete()
        provider = ThirdPartyProvider.load()
        provider.esg_api_url, provider.esg_api_key = saved
        provider.save()
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        sim.terminate()
        sim.wait(10)
    if figures is not None:  # after the worker and simulator have stopped (and printed)
        sys.stdout.flush()
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
