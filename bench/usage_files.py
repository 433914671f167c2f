"""Benchmark: reading the largest usage files people upload, against a bare read of the same
bytes in the same run.

- SMT CSV: a 24-month export, Consumption and Surplus Generation interleaved (~140,000 rows,
  the size the upload limit is set for), through ``parse_smt_csv``; baseline: ``csv.reader``
  over the same text summing the kWh column as floats.
- Green Button: a year of 15-minute consumption and half a year of generation (about 14 MB,
  under the 15 MB upload limit) written by our own
  download (``myaccount.greenbutton.espi_feed``), through ``parse_green_button``; baseline:
  defusedxml parse of the same bytes and a sum over every ``espi:value``.

    .venv/bin/python bench/usage_files.py [--runs 3]

Needs no database. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from defusedxml.ElementTree import fromstring  # noqa: E402

from authorizations.parsers import parse_green_button, parse_smt_csv  # noqa: E402
from myaccount.greenbutton import Reading, espi_feed  # noqa: E402

ESIID = "1008901023806680370100"
HEADER = (
    "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,"
    "ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION"
)


def smt_export(months: int = 24) -> bytes:
    rng = random.Random(24)
    lines = [HEADER]
    day = date(2023, 1, 1)
    end = date(2023 + months // 12, 1, 1)
    while day < end:
        d = day.strftime("%m/%d/%Y")
        for i in range(96):
            h, m = divmod(i * 15, 60)
            e_h, e_m = divmod(i * 15 + 15, 60)
            start, stop = f"{h:>2}:{m:02d}", f"{e_h % 24:>2}:{e_m:02d}"
            kwh = rng.randint(50, 900) / 1000
            lines.append(f"'{ESIID},{d},{d} 23:00:00, {start}, {stop},{kwh:.3f},A,Consumption")
            lines.append(f"'{ESIID},{d},{d} 23:00:00, {start}, {stop},0.000,A,Surplus Generation")
        day += timedelta(days=1)
    return ("\n".join(lines) + "\n").encode()


def green_button_year() -> bytes:
    rng = random.Random(12)
    first = datetime(2024, 1, 1, 6, tzinfo=UTC)
    n = 366 * 96
    consumption = [
        Reading(
            start=first + timedelta(minutes=15 * i), seconds=900, kwh=rng.randint(50, 900) / 1000
        )
        for i in range(n)
    ]
    generation = [
        Reading(
            start=first + timedelta(minutes=15 * i), seconds=900, kwh=rng.randint(0, 300) / 1000
        )
        for i in range(n)
    ]
    return espi_feed(
        base="https://example.test/espi/1_1/resource",
        title="bench",
        channels={"consumption": consumption, "generation": generation[: 183 * 96]},
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )


def bare_csv(data: bytes) -> float:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    next(reader)
    return sum(float(row[5]) for row in reader if row[5].strip())


def bare_xml(data: bytes) -> float:
    root = fromstring(data, forbid_dtd=True)
    return sum(float(v.text) for v in root.iter("{http://naesb.org/espi}value"))


def timed(fn, data: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    csv_bytes = smt_export()
    xml_bytes = green_button_year()
    csv_rows = csv_bytes.count(b"\n") - 1
    xml_readings = xml_bytes.count(b"<espi:IntervalReading>")

    t_csv = timed(lambda d: parse_smt_csv(d, esiid=ESIID), csv_bytes, args.runs)
    t_csv_bare = timed(bare_csv, csv_bytes, args.runs)
    t_xml = timed(parse_green_button, xml_bytes, args.runs)
    t_xml_bare = timed(bare_xml, xml_bytes, args.runs)

    print(f"SMT CSV, 24 months   : {csv_rows} rows, {len(csv_bytes) / 2**20:.1f} MB")
    print(f"  parse_smt_csv      : {t_csv * 1000:.0f} ms ({csv_rows / t_csv:,.0f} rows/s)")
    print(f"  bare csv.reader    : {t_csv_bare * 1000:.0f} ms  ratio {t_csv / t_csv_bare:.2f}")
    print(f"Green Button, 1 year : {xml_readings} readings, {len(xml_bytes) / 2**20:.1f} MB")
    print(f"  parse_green_button : {t_xml * 1000:.0f} ms ({xml_readings / t_xml:,.0f} readings/s)")
    print(f"  bare defusedxml    : {t_xml_bare * 1000:.0f} ms  ratio {t_xml / t_xml_bare:.2f}")
    print(
        json.dumps(
            {
                "smt_csv_rows": csv_rows,
                "smt_csv_mb": round(len(csv_bytes) / 2**20, 1),
                "smt_csv_ms": round(t_csv * 1000),
                "smt_csv_baseline_ms": round(t_csv_bare * 1000),
                "smt_csv_ratio": round(t_csv / t_csv_bare, 2),
                "green_button_readings": xml_readings,
                "green_button_mb": round(len(xml_bytes) / 2**20, 1),
                "green_button_ms": round(t_xml * 1000),
                "green_button_baseline_ms": round(t_xml_bare * 1000),
                "green_button_ratio": round(t_xml / t_xml_bare, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
