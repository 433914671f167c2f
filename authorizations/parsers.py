"""Fallback usage files a person uploads: SMT interval CSV exports and Green Button XML.

Both parsers are all-or-nothing: any bad line makes the whole file refused with an error per
line (the first ``MAX_ERRORS`` of them), so nothing half-read is ever stored. XML is parsed
with defusedxml with DTDs forbidden: entity expansion ("billion laughs"), external entities
and DTD tricks are refused before any element is built.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from opsadmin.errors import ApplicationError

CHICAGO = ZoneInfo("America/Chicago")
MAX_CSV_BYTES = 25 * 1024 * 1024  # a full 24-month, two-channel export is about 13 MB
MAX_XML_BYTES = 15 * 1024 * 1024
MAX_READINGS = 200_000  # 24 months of 15-minute readings is ~70,000
MAX_ERRORS = 20
MAX_INTERVAL_KWH = Decimal("1000")  # per 15-minute interval: far above any premise we serve

SMT_CSV_HEADER = [
    "ESIID",
    "USAGE_DATE",
    "REVISION_DATE",
    "USAGE_START_TIME",
    "USAGE_END_TIME",
    "USAGE_KWH",
    "ESTIMATED_ACTUAL",
    "CONSUMPTION_SURPLUSGENERATION",
]
ESIID_RE = re.compile(r"^10\d{15}(\d{5})?$")
ESPI = "{http://naesb.org/espi}"


@dataclass(frozen=True)
class ParsedMonth:
    month: date  # first day
    kwh: Decimal
    days: int


class UploadRefused(ApplicationError):
    """The file was refused; ``errors`` lists what is wrong, line by line."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message, field="file")
        self.errors = errors or []


def _refuse_if(errors: list[str], total: int, what: str) -> None:
    if not errors:
        return
    shown = errors[:MAX_ERRORS]
    if total > len(shown):
        shown.append(f"… and {total - len(shown)} more problems.")
    raise UploadRefused(f"We could not read this {what}; nothing was stored.", shown)


def _months(per_day: dict[date, Decimal]) -> list[ParsedMonth]:
    kwh: dict[date, Decimal] = defaultdict(Decimal)
    days: dict[date, int] = defaultdict(int)
    for day, value in per_day.items():
        first = day.replace(day=1)
        kwh[first] += value
        days[first] += 1
    return [ParsedMonth(month=m, kwh=kwh[m], days=days[m]) for m in sorted(kwh)]


def parse_smt_csv(data: bytes, *, esiid: str) -> list[ParsedMonth]:
    """An SMT 15-minute interval CSV (portal download, SFTP or email) -> consumption by month.

    Header ``ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,
    ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION``; the ESIID has a leading apostrophe;
    surplus generation rows are skipped; the fall-back day's repeated 01:00-01:45 rows are
    both real intervals (texas-market.md 1.3).
    """
    if len(data) > MAX_CSV_BYTES:
        raise UploadRefused(
            f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB; nothing was stored."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused("This is not a text CSV file; nothing was stored.") from exc
    if "\x00" in text:
        raise UploadRefused("This is not a text CSV file; nothing was stored.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UploadRefused("The file is empty; nothing was stored.") from exc
    if [h.strip().upper() for h in header] != SMT_CSV_HEADER:
        raise UploadRefused(
            "This does not look like a Smart Meter Texas interval CSV: its first line must be "
            + ",".join(SMT_CSV_HEADER)
            + ". Nothing was stored."
        )
    per_day: dict[date, Decimal] = defaultdict(Decimal)
    errors: list[str] = []
    problems = 0
    rows = 0

    def bad(line: int, message: str) -> None:
        nonlocal problems
        problems += 1
        if len(errors) < MAX_ERRORS:
            errors.append(f"Line {line}: {message}")

    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(SMT_CSV_HEADER):
                bad(line, f"expected {len(SMT_CSV_HEADER)} columns, found {len(row)}.")
                continue
            raw_esiid = row[0].strip().lstrip("'").strip()
            if "E+" in raw_esiid.upper():
                bad(line, "the ESIID is in scientific notation (a spreadsheet changed it).")
                continue
            if not ESIID_RE.match(raw_esiid):
                bad(line, f"{raw_esiid[:30]!r} is not an ESIID.")
                continue
            if raw_esiid != esiid:
                bad(line, f"ESIID {raw_esiid} is not this premise's ESIID ({esiid}).")
                continue
            channel = row[7].strip().lower()
            if channel not in ("consumption", "surplus generation"):
                bad(line, f"unknown channel {row[7].strip()[:30]!r}.")
                continue
            try:
                day = datetime.strptime(row[1].strip(), "%m/%d/%Y").date()
            except ValueError:
                bad(line, f"the date {row[1].strip()[:20]!r} is not MM/DD/YYYY.")
                continue
            try:
                kwh = Decimal(row[5].strip())
            except InvalidOperation:
                bad(line, f"the kWh {row[5].strip()[:20]!r} is not a number.")
                continue
            if not kwh.is_finite() or kwh < 0 or kwh > MAX_INTERVAL_KWH:
                bad(line, f"the kWh {row[5].strip()[:20]!r} is out of range.")
                continue
            rows += 1
            if rows > MAX_READINGS * 2:
                raise UploadRefused("The file has too many rows; nothing was stored.")
            if channel == "consumption":
                per_day[day] += kwh
    except csv.Error as exc:
        bad(reader.line_num, f"the CSV is malformed ({exc}).")
    _refuse_if(errors, problems, "CSV")
    if not per_day:
        raise UploadRefused("The file has no consumption rows; nothing was stored.")
    return _months(per_day)


def _text(element, name: str) -> str | None:
    child = element.find(f"{ESPI}{name}")
    return None if child is None or child.text is None else child.text.strip()


def parse_green_button(data: bytes) -> list[ParsedMonth]:
    """A Green Button (NAESB ESPI) usage file -> consumption by month (America/Chicago).

    One ``ReadingType`` is expected (a consumption export); ``uom`` 72 is Wh, scaled by
    ``powerOfTenMultiplier``; each ``IntervalReading`` has ``timePeriod/start`` (epoch s, UTC)
    and ``value``.
    """
    if len(data) > MAX_XML_BYTES:
        raise UploadRefused(
            f"The file is larger than {MAX_XML_BYTES // (1024 * 1024)} MB; nothing was stored."
        )
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UploadRefused(
            "The file declares a DTD or XML entities, which we refuse for safety; "
            "nothing was stored."
        ) from exc
    except ParseError as exc:
        line = getattr(exc, "position", (None,))[0]
        where = f" (line {line})" if line else ""
        raise UploadRefused(
            f"This is not a well-formed XML file{where}; nothing was stored."
        ) from exc
    reading_types = root.findall(f".//{ESPI}ReadingType")
    if not reading_types:
        raise UploadRefused(
            "This does not look like a Green Button usage file (no ReadingType); "
            "nothing was stored."
        )
    scales = set()
    for rt in reading_types:
        uom = _text(rt, "uom")
        power = _text(rt, "powerOfTenMultiplier") or "0"
        scales.add((uom, power))
    if len(scales) != 1:
        raise UploadRefused(
            "The file mixes several kinds of reading; export electricity consumption only. "
            "Nothing was stored."
        )
    uom, power = scales.pop()
    if uom != "72":
        raise UploadRefused(f"The readings are not in watt-hours (uom {uom}); nothing was stored.")
    try:
        scale = Decimal(10) ** int(power) / Decimal(1000)
    except ValueError as exc:
        raise UploadRefused(
            "The powerOfTenMultiplier is not a number; nothing was stored."
        ) from exc
    readings = root.findall(f".//{ESPI}IntervalReading")
    if len(readings) > MAX_READINGS:
        raise UploadRefused("The file has too many readings; nothing was stored.")
    per_day: dict[date, Decimal] = defaultdict(Decimal)
    errors: list[str] = []
    problems = 0
    for n, reading in enumerate(readings, start=1):
        period = reading.find(f"{ESPI}timePeriod")
        start = _text(period, "start") if period is not None else None
        value = _text(reading, "value")
        problem = None
        try:
            at = datetime.fromtimestamp(int(start or ""), CHICAGO)
        except (ValueError, OverflowError, OSError):
            problem = f"the start time {str(start)[:20]!r} is not epoch seconds."
        else:
            try:
                kwh = Decimal(value or "") * scale
            except InvalidOperation:
                problem = f"the value {str(value)[:20]!r} is not a number."
            else:
                if not kwh.is_finite() or kwh < 0 or kwh > MAX_INTERVAL_KWH * 4 * 24:
                    problem = f"the value {str(value)[:20]!r} is out of range."
                else:
                    per_day[at.date()] += kwh
        if problem:
            problems += 1
            if len(errors) < MAX_ERRORS:
                errors.append(f"IntervalReading {n}: {problem}")
    _refuse_if(errors, problems, "Green Button file")
    if not per_day:
        raise UploadRefused("The file has no interval readings; nothing was stored.")
    return _months(per_day)
