"""Report: exactly once under the faults real integrations have, through a real worker.

Runs ``tests/test_faults_exactly_once.py`` (real Postgres, Redis, Celery worker and the
simulators over HTTP; ``DATABASE_URL`` / ``REDIS_URL`` as for the tests) and prints, per
operation and fault: operations attempted, carried out at the simulator (from its
``_stats``), duplicates, lost, how often the fault fired, staff retries, and the seconds to
settle against the fault-free baseline of the same run (ratio). Ends with one JSON line.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/faults_report.py \
        [--ops create_prospect,drop,smt_agreement,derms_device_sync] \
        [--faults lose_response,rate_limit,...] [--kill] [--all]

The small default is Create Prospect under every fault (about a minute and a half on two
cores, most of it creating the test database and starting the worker); ``--all`` runs
every operation under every fault plus the worker-SIGKILL case (five minutes or so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPS = {
    "create_prospect": "test_create_prospect_exactly_once_under_every_fault",
    "drop": "test_drop_exactly_once_under_every_fault",
    "smt_agreement": "test_smt_agreement_exactly_once_under_every_fault",
    "derms_device_sync": "test_derms_device_sync_exactly_once_under_every_fault",
}
KILL = "test_worker_killed_while_answers_are_being_lost"
FAULTS = [
    "lose_response",
    "rate_limit",
    "malformed",
    "duplicate_delivery",
    "out_of_order",
    "slow_body",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="create_prospect", help=", ".join(OPS))
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--kill", action="store_true", help="add the worker SIGKILL case")
    parser.add_argument("--all", action="store_true", help="every operation, fault, the kill")
    args = parser.parse_args()
    ops = list(OPS) if args.all else [o for o in args.ops.split(",") if o in OPS]
    faults = list(FAULTS) if args.all else [f for f in args.faults.split(",") if f in FAULTS]
    tests = [OPS[o] for o in ops] + ([KILL] if args.kill or args.all else [])
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "faults.jsonl"
        env = dict(os.environ, FAULTS_REPORT=str(report), FAULTS_ONLY=",".join(["none", *faults]))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_faults_exactly_once.py", "-q",
             "-p", "no:randomly", "-k", " or ".join(tests)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )  # fmt: skip
        rows = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-2000:], sep="\n")
    baseline = {r["operation"]: r["seconds"] for r in rows if r["fault"] == "none"}
    header = (
        f"{'operation':<18} {'fault':<30} {'attempted':>9} {'carried':>7} {'dups':>4} "
        f"{'lost':>4} {'fired':>5} {'staff':>5} {'seconds':>7} {'x base':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        base = baseline.get(r["operation"])
        seconds = r.get("seconds")
        ratio = round(seconds / base, 1) if seconds and base else None
        r["ratio_to_baseline"] = ratio
        print(
            f"{r['operation']:<18} {r['fault']:<30} {r['attempted']:>9} {r['carried_out']:>7} "
            f"{r['duplicates']:>4} {r['lost']:>4} {r['fault_fired']:>5} {r['staff_retries']:>5} "
            f"{seconds if seconds is not None else '-':>7} {ratio if ratio is not None else '-':>6}"
        )
    faulted = [r for r in rows if r["fault"] != "none"]
    summary = {
        "scenarios": len(faulted),
        "attempted": sum(r["attempted"] for r in faulted),
        "carried_out": sum(r["carried_out"] for r in faulted),
        "duplicates": sum(r["duplicates"] for r in faulted),
        "lost": sum(r["lost"] for r in faulted),
        "tests_passed": result.returncode == 0,
        "per_fault": {
            f"{r['operation']}:{r['fault']}": {
                k: r[k] for k in ("attempted", "carried_out", "duplicates", "lost")
            }
            for r in faulted
        },
        "baseline_seconds": baseline,
    }
    print(json.dumps(summary))
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
