"""Fallback usage files a person uploads: SMT CSV exports and Green Button (ESPI) files.

Both parsers are all-or-nothing: any bad line makes the whole file refused with an error per
line (the first ``MAX_ERRORS`` of them), so nothing half-read is ever stored. XML is parsed
with defusedxml with DTDs forbidden: entity expansion ("billion laughs"), external entities
and DTD tricks are refused before any element is built. ZIP files (a utility's "Download My
Data" button) are opened with their declared sizes checked before anything is inflated.

Consumption and surplus generation are always kept apart: generation is reported next to the
months, never added to them.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.utils.translation import gettext, gettext_noop

from opsadmin.errors import ApplicationError

MAX_CSV_BYTES = 25 * 1024 * 1024  # a full 24-month, two-channel export is about 13 MB
MAX_XML_BYTES = 15 * 1024 * 1024
MAX_ZIP_MEMBERS = 20
MAX_READINGS = 200_000  # 24 months of 15-minute readings is ~70,000
MAX_ERRORS = 20
MAX_INTERVAL_KWH = Decimal("1000")  # per 15-minute interval: far above any premise we serve
MAX_PERIOD_DAYS = 62  # a billing period longer than two months is not a usage reading

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
ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"

# NAESB REQ.21 ESPI code lists (espiDerived.xsd): ServiceKind, FlowDirectionKind, UnitSymbolKind,
# AccumulationKind.
# English names, translated where they are shown (_refuse_kind)
SERVICE_KINDS = {
    0: gettext_noop("electricity"),
    1: gettext_noop("gas"),
    2: gettext_noop("water"),
    3: gettext_noop("time"),
    4: gettext_noop("heat"),
    5: gettext_noop("refuse"),
    6: gettext_noop("sewerage"),
    7: gettext_noop("rates"),
    8: gettext_noop("TV licence"),
    9: gettext_noop("internet"),
}
FLOW_FORWARD = 1  # delivered to the customer
FLOW_REVERSE = 19  # received from the customer (surplus generation)
UOM_WH = 72
UOM_GAS = {
    42: gettext_noop("gas"),
    119: "gas",
    169: "gas",
    128: gettext_noop("water"),
}  # m3, ft3, therm; water volume
ACCUMULATION_CUMULATIVE = {1, 3, 9}  # bulkQuantity, cumulative, summation: register reads


@dataclass(frozen=True)
class ParsedMonth:
    month: date  # first day
    kwh: Decimal
    days: int


@dataclass(frozen=True)
class ParsedUpload:
    """What a file holds: consumption by month, and what the import left out and why."""

    months: list[ParsedMonth]
    generation: list[ParsedMonth] = field(default_factory=list)  # kept apart, never summed
    skipped_empty: int = 0  # SMT rows with an empty kWh (the missing spring-forward hour)
    notes: tuple[str, ...] = ()

    @property
    def generation_kwh(self) -> Decimal:
        return sum((m.kwh for m in self.generation), Decimal("0"))


class UploadRefused(ApplicationError):
    """The file was refused; ``errors`` lists what is wrong, line by line."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message, field="file")
        self.errors = errors or []


class UsagePointChoice(UploadRefused):
    """A Green Button file with several electricity meters: the person picks one."""

    def __init__(self, choices: list[str]):
        super().__init__(
            gettext(
                "This file holds %(count)s electricity meters (%(meters)s). Enter the number of "
                "this premise's meter under “Meter in the file” and upload it again; nothing "
                "was stored."
            )
            % {"count": len(choices), "meters": "; ".join(choices)},
            [
                gettext("Meter %(n)s: %(title)s") % {"n": n, "title": title}
                for n, title in enumerate(choices, start=1)
            ],
        )
        self.choices = choices


def _refuse_if(errors: list[str], total: int, what: str) -> None:
    if not errors:
        return
    shown = errors[:MAX_ERRORS]
    if total > len(shown):
        shown.append(gettext("… and %(n)s more problems.") % {"n": total - len(shown)})
    raise UploadRefused(
        gettext("We could not read this %(what)s; nothing was stored.") % {"what": gettext(what)},
        shown,
    )


class _Months:
    """kWh gathered by local day (intervals, daily reads) or by period (billing periods)."""

    def __init__(self) -> None:
        self.per_day: dict[date, Decimal] = defaultdict(Decimal)
        self.periods: list[tuple[date, date, Decimal]] = []  # first day, day after, kWh

    def add_day(self, day: date, kwh: Decimal) -> None:
        self.per_day[day] += kwh

    def add_period(self, first: date, after: date, kwh: Decimal) -> None:
        self.periods.append((first, after, kwh))

    def __bool__(self) -> bool:
        return bool(self.per_day or self.periods)

    def months(self) -> list[ParsedMonth]:
        kwh: dict[date, Decimal] = defaultdict(Decimal)
        days: dict[date, int] = defaultdict(int)
        for day, value in self.per_day.items():
            first = day.replace(day=1)
            kwh[first] += value
            days[first] += 1
        for first_day, after, value in self.periods:
            # a billing period belongs to the month holding its middle day, with its own length
            length = max((after - first_day).days, 1)
            middle = first_day + timedelta(days=(length - 1) // 2)
            month = middle.replace(day=1)
            kwh[month] += value
            days[month] += length
        return [ParsedMonth(month=m, kwh=kwh[m], days=min(days[m], 366)) for m in sorted(kwh)]


# --- Smart Meter Texas CSV ----------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)  # a file repeats each date and time hundreds of times
def _smt_time(text: str) -> str:
    """' 1:00' -> '01:00'; '' stays ''."""
    text = text.strip()
    if not text:
        return ""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes[:2].isdigit()):
        raise ValueError(text)
    return f"{int(hours):02d}:{minutes[:2]}"


@functools.lru_cache(maxsize=8192)  # a file repeats each date and time hundreds of times
def _smt_revision(text: str) -> datetime:
    text = text.strip()
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    if text:
        raise ValueError(text)
    return datetime.min


@functools.lru_cache(maxsize=8192)  # a file repeats each date and time hundreds of times
def _smt_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


@functools.lru_cache(maxsize=65536)
def _kwh(text: str) -> Decimal:
    return Decimal(text)


def parse_smt_csv(data: bytes, *, esiid: str) -> ParsedUpload:
    """An SMT usage CSV (portal download, SFTP or email) -> consumption by month.

    Header ``ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,
    ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION`` (SMT Interval Data Report, the layout of
    the portal's "Export" of 15-minute data):

    - the ESIID carries a leading apostrophe (so spreadsheets keep it text); times may have
      leading spaces;
    - Consumption and Surplus Generation rows are interleaved: generation is kept apart;
    - the hour that does not exist on the spring-forward day comes as rows with an empty kWh:
      skipped and counted;
    - the fall-back day's 01:00-01:45 rows come twice: both are real intervals, kept in order;
    - a later REVISION_DATE for the same interval replaces the earlier reading (newest wins);
    - daily reads (no start/end time) and monthly/billing reads (start and end given as
      MM/DD/YYYY dates) are accepted too, one granularity per file.
    """
    if len(data) > MAX_CSV_BYTES:
        raise UploadRefused(
            gettext("The file is larger than %(mb)s MB; nothing was stored.")
            % {"mb": MAX_CSV_BYTES // (1024 * 1024)}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused(gettext("This is not a text CSV file; nothing was stored.")) from exc
    if "\x00" in text:
        raise UploadRefused(gettext("This is not a text CSV file; nothing was stored."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UploadRefused(gettext("The file is empty; nothing was stored.")) from exc
    if [h.strip().lstrip("\ufeff").upper() for h in header] != SMT_CSV_HEADER:
        raise UploadRefused(
            gettext(
                "This does not look like a Smart Meter Texas interval CSV: its first line must "
                "be %(header)s. Nothing was stored."
            )
            % {"header": ",".join(SMT_CSV_HEADER)}
        )
    # (channel, kind, day, start, end) -> revision -> kWh values in file order; the fall-back
    # hour's two readings share one key and one revision, so both stay, in order.
    readings: dict[tuple, dict[datetime, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    errors: list[str] = []
    problems = 0
    rows = 0
    mine = 0
    skipped_empty = 0
    foreign: set[str] = set()
    kinds: set[str] = set()

    def bad(line: int, message: str) -> None:
        nonlocal problems
        problems += 1
        if len(errors) < MAX_ERRORS:
            errors.append(
                gettext("Line %(line)s: %(message)s") % {"line": line, "message": message}
            )

    try:
        for row in reader:
            line = reader.line_num
            if not row or (not row[0].strip() and not "".join(row).strip()):
                continue  # a blank line
            rows += 1
            if rows > MAX_READINGS * 2:
                raise UploadRefused(gettext("The file has too many rows; nothing was stored."))
            if len(row) != len(SMT_CSV_HEADER):
                bad(
                    line,
                    gettext("expected %(expected)s columns, found %(found)s.")
                    % {"expected": len(SMT_CSV_HEADER), "found": len(row)},
                )
                continue
            raw_esiid = row[0].strip().lstrip("'").strip()
            if raw_esiid == esiid:
                pass  # the usual case: no need to look closer
            elif "E+" in raw_esiid.upper():
                bad(
                    line, gettext("the ESIID is in scientific notation (a spreadsheet changed it).")
                )
                continue
            elif not ESIID_RE.match(raw_esiid):
                bad(line, gettext("%(value)s is not an ESIID.") % {"value": repr(raw_esiid[:30])})
                continue
            else:
                foreign.add(raw_esiid)
                bad(
                    line,
                    gettext("ESIID %(found)s is not this premise's ESIID (%(esiid)s).")
                    % {"found": raw_esiid, "esiid": esiid},
                )
                continue
            mine += 1
            channel = row[7].strip().lower()
            if channel not in ("consumption", "surplus generation"):
                bad(
                    line,
                    gettext("unknown channel %(value)s.") % {"value": repr(row[7].strip()[:30])},
                )
                continue
            try:
                day = _smt_date(row[1])
            except ValueError:
                bad(
                    line,
                    gettext("the date %(value)s is not MM/DD/YYYY.")
                    % {"value": repr(row[1].strip()[:20])},
                )
                continue
            try:
                revision = _smt_revision(row[2])
            except ValueError:
                bad(
                    line,
                    gettext("the revision date %(value)s is not MM/DD/YYYY.")
                    % {"value": repr(row[2].strip()[:20])},
                )
                continue
            start_raw, end_raw = row[3].strip(), row[4].strip()
            try:
                if "/" in start_raw or "/" in end_raw:
                    kind = "period"
                    start, end = (_smt_date(start_raw).isoformat(), _smt_date(end_raw).isoformat())
                    if date.fromisoformat(end) < date.fromisoformat(start):
                        raise ValueError
                elif not start_raw and not end_raw:
                    kind, start, end = "daily", "", ""
                else:
                    kind, start, end = "interval", _smt_time(start_raw), _smt_time(end_raw)
            except ValueError:
                bad(
                    line,
                    gettext("the start/end %(start)s-%(end)s is not a time.")
                    % {"start": repr(start_raw[:20]), "end": repr(end_raw[:20])},
                )
                continue
            if not row[5].strip():
                skipped_empty += 1  # SMT leaves the spring-forward hour's rows without a kWh
                continue
            try:
                kwh = _kwh(row[5].strip())
            except InvalidOperation:
                bad(
                    line,
                    gettext("the kWh %(value)s is not a number.")
                    % {"value": repr(row[5].strip()[:20])},
                )
                continue
            limit = MAX_INTERVAL_KWH if kind == "interval" else MAX_INTERVAL_KWH * 96 * 62
            if not kwh.is_finite() or kwh < 0 or kwh > limit:
                bad(
                    line,
                    gettext("the kWh %(value)s is out of range.")
                    % {"value": repr(row[5].strip()[:20])},
                )
                continue
            kinds.add(kind)
            readings[(channel, kind, day, start, end)][revision].append(kwh)
    except csv.Error as exc:
        bad(reader.line_num, gettext("the CSV is malformed (%(error)s).") % {"error": exc})
    if foreign and not mine:
        raise UploadRefused(
            gettext(
                "This file is for ESIID %(found)s, not this premise's ESIID (%(esiid)s). "
                "Download the export for this premise; nothing was stored."
            )
            % {"found": sorted(foreign)[0], "esiid": esiid}
        )
    _refuse_if(errors, problems, gettext_noop("CSV"))
    if len(kinds) > 1:
        raise UploadRefused(
            gettext(
                "The file mixes 15-minute, daily and monthly rows; export one kind of data. "
                "Nothing was stored."
            )
        )
    consumption, generation = _Months(), _Months()
    for (channel, kind, day, start, end), revisions in readings.items():
        values = revisions[max(revisions)]  # the newest revision of this interval wins
        target = consumption if channel == "consumption" else generation
        total = sum(values, Decimal("0"))
        if kind == "period":
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            target.add_period(first, last + timedelta(days=1), total)
        else:
            target.add_day(day, total)
    if not consumption:
        raise UploadRefused(gettext("The file has no consumption rows; nothing was stored."))
    return ParsedUpload(
        months=consumption.months(),
        generation=generation.months(),
        skipped_empty=skipped_empty,
    )


# --- Green Button (NAESB REQ.21 ESPI) ------------------------------------------------------------


@dataclass(frozen=True)
class LocalTime:
    """ESPI LocalTimeParameters: standard offset, DST offset and the two DST rules."""

    tz_offset: int
    dst_offset: int = 0
    dst_start: int | None = None
    dst_end: int | None = None

    def local(self, epoch: int) -> datetime:
        """UTC epoch seconds -> naive local wall-clock time in the file's own zone."""
        standard = datetime(1970, 1, 1) + timedelta(seconds=epoch + self.tz_offset)
        if not self.dst_offset or self.dst_start is None or self.dst_end is None:
            return standard
        begins = _dst_rule_moment(self.dst_start, standard.year)  # rule in standard time
        ends = _dst_rule_moment(self.dst_end, standard.year)  # rule in daylight time
        if begins is None or ends is None:
            return standard
        ends -= timedelta(seconds=self.dst_offset)
        # southern hemisphere: DST spans the new year
        in_dst = begins <= standard < ends if begins < ends else not ends <= standard < begins
        return standard + timedelta(seconds=self.dst_offset) if in_dst else standard


# America/Chicago as ESPI encodes it: UTC-6, +1 h from the 2nd Sunday of March 02:00 to the
# 1st Sunday of November 02:00 (15 U.S.C. 260a). Used when a file states no zone.
CHICAGO_LTP = LocalTime(-21600, 3600, 0x360E2000, 0xB40E2000)


def _dst_rule_moment(rule: int, year: int) -> datetime | None:
    """Decode an ESPI DstRuleType (espiDerived.xsd): bits 0-11 seconds, 12-16 hours, 17-19 day
    of week (1 = Monday), 20-24 day of month, 25-27 operator, 28-31 month."""
    if rule == 0xFFFFFFFF:
        return None
    seconds = rule & 0xFFF
    hours = (rule >> 12) & 0x1F
    weekday = (rule >> 17) & 0x7
    day = (rule >> 20) & 0x1F
    operator = (rule >> 25) & 0x7
    month = (rule >> 28) & 0xF
    if not 1 <= month <= 12:
        return None
    try:
        if operator == 0:
            target = date(year, month, day)
        elif operator == 1:  # the weekday on or after the day of the month
            target = date(year, month, max(day, 1))
            while target.isoweekday() != weekday:
                target += timedelta(days=1)
        elif 2 <= operator <= 6:  # first .. fifth occurrence of the weekday
            target = date(year, month, 1)
            while target.isoweekday() != weekday:
                target += timedelta(days=1)
            target += timedelta(weeks=operator - 2)
        else:  # last occurrence of the weekday
            following = date(year + month // 12, month % 12 + 1, 1)
            target = following - timedelta(days=1)
            while target.isoweekday() != weekday:
                target -= timedelta(days=1)
    except ValueError:
        return None
    return datetime(target.year, target.month, target.day) + timedelta(hours=hours, seconds=seconds)


@dataclass
class _Entry:
    self_href: str
    up_href: str
    related: list[str]
    title: str
    content: Element


def _text(element: Element | None, name: str) -> str | None:
    if element is None:
        return None
    child = element.find(f"{ESPI}{name}")
    return None if child is None or child.text is None else child.text.strip()


def _int(element: Element | None, name: str) -> int | None:
    value = _text(element, name)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _entries(root: Element, kind: str) -> list[_Entry]:
    out = []
    for entry in root.iter(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content/{ESPI}{kind}")
        if content is None:
            continue
        links: dict[str, list[str]] = defaultdict(list)
        for link in entry.findall(f"{ATOM}link"):
            links[link.get("rel", "")].append(link.get("href", "").strip())
        title = entry.findtext(f"{ATOM}title") or ""
        out.append(
            _Entry(
                self_href=(links.get("self") or [""])[0],
                up_href=(links.get("up") or [""])[0],
                related=links.get("related", []),
                title=title.strip(),
                content=content,
            )
        )
    if not out and kind != "UsagePoint":
        # a bare feed without Atom entries around its resources (seen in hand-made files)
        for content in root.iter(f"{ESPI}{kind}"):
            out.append(_Entry("", "", [], "", content))
    return out


def _children(parent: _Entry, candidates: list[_Entry], collection: str) -> list[_Entry]:
    """ESPI linking: a child's ``up`` is one of the parent's ``related`` collection links, or
    its ``self`` lies under the parent's ``self`` (``…/UsagePoint/1/MeterReading/01``)."""
    related = set(parent.related)
    prefix = f"{parent.self_href}/{collection}/" if parent.self_href else None
    return [
        c
        for c in candidates
        if (c.up_href and c.up_href in related)
        or (prefix and c.self_href.startswith(prefix))
        or (c.self_href and c.self_href in related)
    ]


@dataclass
class _Meter:
    """One UsagePoint's readings, ready to be added up."""

    title: str
    kind: int
    zone: LocalTime
    channels: list[tuple[_Entry, Element | None, list[_Entry]]]  # meter reading, type, blocks


def _local_time(entry: _Entry | None) -> LocalTime | None:
    if entry is None:
        return None
    ltp = entry.content
    tz = _int(ltp, "tzOffset")
    if tz is None or not -14 * 3600 <= tz <= 14 * 3600:
        return None

    def rule(name: str) -> int | None:
        value = _text(ltp, name)
        try:
            return None if value is None else int(value, 16)
        except ValueError:
            return None

    return LocalTime(tz, _int(ltp, "dstOffset") or 0, rule("dstStartRule"), rule("dstEndRule"))


def _meters(root: Element) -> tuple[list[_Meter], set[str]]:
    """The feed's usage points (electric or not) with their meter readings, types and blocks."""
    points = _entries(root, "UsagePoint")
    readings = _entries(root, "MeterReading")
    types = _entries(root, "ReadingType")
    blocks = _entries(root, "IntervalBlock")
    zones = _entries(root, "LocalTimeParameters")
    other_kinds: set[str] = set()
    if not points:
        points = [_Entry("", "", [], "", Element("UsagePoint"))]
    meters = []
    for point in points:
        kind = _int(point.content.find(f"{ESPI}ServiceCategory"), "kind")
        kind = 0 if kind is None else kind
        mine = _children(point, readings, "MeterReading") if point.self_href else []
        if not mine and len(points) == 1:
            mine = readings
        zone_entry = next((z for z in zones if z.self_href and z.self_href in point.related), None)
        if zone_entry is None and len(zones) == 1:
            zone_entry = zones[0]
        zone = _local_time(zone_entry) or CHICAGO_LTP
        channels: list[tuple[_Entry, Element | None, list[_Entry]]] = []
        if not mine and len(points) == 1 and len(types) == 1:
            channels.append((point, types[0].content, blocks))  # bare file: one type, all blocks
        for reading in mine:
            rt = next((t for t in types if t.self_href and t.self_href in reading.related), None)
            if rt is None and len(types) == 1:
                rt = types[0]
            own = _children(reading, blocks, "IntervalBlock")
            if not own and len(mine) == 1:
                own = blocks
            channels.append((reading, None if rt is None else rt.content, own))
        if kind != 0:
            other_kinds.add(
                SERVICE_KINDS.get(kind, gettext_noop("something other than electricity"))
            )
        meters.append(_Meter(point.title, kind, zone, channels))
    return meters, other_kinds


def _xml_root(data: bytes) -> Element:
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UploadRefused(
            gettext(
                "The file declares a DTD or XML entities, which we refuse for safety; "
                "nothing was stored."
            )
        ) from exc
    except ParseError as exc:
        line = getattr(exc, "position", (None,))[0]
        raise UploadRefused(
            gettext(
                "This is not a well-formed XML file (line %(line)s) (is it cut short?); "
                "nothing was stored."
            )
            % {"line": line}
            if line
            else gettext(
                "This is not a well-formed XML file (is it cut short?); nothing was stored."
            )
        ) from exc


def _zip_members(data: bytes) -> list[bytes]:
    """The XML files inside a "Download My Data" ZIP, sizes checked before inflating."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir()
            and i.filename.lower().endswith(".xml")
            and not i.filename.startswith("__MACOSX/")
        ]
        if not infos:
            raise UploadRefused(
                gettext("The ZIP file holds no Green Button XML file; nothing was stored.")
            )
        if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_XML_BYTES:
            raise UploadRefused(gettext("The ZIP file holds too much data; nothing was stored."))
        out = []
        for info in infos:
            if info.flag_bits & 0x1:
                raise UploadRefused(
                    gettext("The ZIP file is password-protected; nothing was stored.")
                )
            with archive.open(info) as member:
                body = member.read(MAX_XML_BYTES + 1)
            if len(body) > MAX_XML_BYTES:
                raise UploadRefused(
                    gettext("The ZIP file holds too much data; nothing was stored.")
                )
            out.append(body)
        return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise UploadRefused(
            gettext("This ZIP file is damaged or cut short; nothing was stored.")
        ) from exc


def _refuse_kind(kinds: set[str]) -> None:
    if len(kinds) == 1:
        what = kinds.pop()
        raise UploadRefused(
            gettext(
                "This file holds %(what)s usage, not electricity. Upload your electricity "
                "company's Green Button file; nothing was stored."
            )
            % {"what": gettext(what)}
        )
    raise UploadRefused(
        gettext("This file holds no electricity usage (only %(kinds)s); nothing was stored.")
        % {"kinds": ", ".join(sorted(gettext(k) for k in kinds))}
    )


def parse_green_button(data: bytes, *, usage_point: int | None = None) -> ParsedUpload:
    """A Green Button (NAESB REQ.21 ESPI) file, XML or a utility's ZIP -> months.

    Follows the feed's links UsagePoint -> MeterReading -> ReadingType / IntervalBlock. Each
    MeterReading is read by its ReadingType: ``uom`` 72 is Wh scaled by
    ``powerOfTenMultiplier``; ``flowDirection`` 1 (forward) is consumption, 19 (reverse) is
    generation, kept apart. Readings fall into days and months in the file's own local time
    (LocalTimeParameters; America/Chicago when the file states none). A reading longer than a
    day (a billing period) counts for the month holding its middle day, with its own length.
    A file with several electricity usage points needs ``usage_point`` (1-based): they are
    never summed. Gas and water files are refused in plain words.
    """
    if len(data) > MAX_XML_BYTES:
        raise UploadRefused(
            gettext("The file is larger than %(mb)s MB; nothing was stored.")
            % {"mb": MAX_XML_BYTES // (1024 * 1024)}
        )
    documents = _zip_members(data) if data[:4] == b"PK\x03\x04" else [data]
    meters: list[_Meter] = []
    other_kinds: set[str] = set()
    saw_reading_type = False
    for document in documents:
        root = _xml_root(document)
        saw_reading_type |= root.find(f".//{ESPI}ReadingType") is not None
        found, kinds = _meters(root)
        meters += found
        other_kinds |= kinds
    if not saw_reading_type:
        raise UploadRefused(
            gettext(
                "This does not look like a Green Button usage file (no ReadingType); "
                "nothing was stored."
            )
        )
    electric = [m for m in meters if m.kind == 0 and m.channels]
    if not electric and any(m.kind == 0 for m in meters):
        raise UploadRefused(
            gettext(
                "The file has no interval readings for its electricity meter (only summaries?); "
                "nothing was stored."
            )
        )
    if not electric:
        _refuse_kind(other_kinds or {"something other than electricity"})
    if len(electric) > 1:
        if usage_point is None or not 1 <= usage_point <= len(electric):
            raise UsagePointChoice(
                [m.title or f"usage point {n}" for n, m in enumerate(electric, start=1)]
            )
        meter = electric[usage_point - 1]
    else:
        meter = electric[0]
    return _read_meter(meter)


def _read_meter(meter: _Meter) -> ParsedUpload:
    notes: list[str] = []
    by_flow: dict[str, list[tuple[int, int, Element, list[_Entry]]]] = defaultdict(list)
    uoms: set[int | None] = set()
    for _reading, rt, blocks in meter.channels:
        if rt is None:
            continue
        uom = _int(rt, "uom")
        uoms.add(uom)
        if uom != UOM_WH or _int(rt, "accumulationBehaviour") in ACCUMULATION_CUMULATIVE:
            continue  # demand (W), volts, register reads: not interval energy
        flow = _int(rt, "flowDirection")
        if flow in (None, 0, FLOW_FORWARD):
            name = gettext_noop("consumption")
        elif flow == FLOW_REVERSE:
            name = gettext_noop("generation")
        else:
            notes.append(
                gettext("A reading with flow direction %(flow)s (net or other) was left out.")
                % {"flow": flow}
            )
            continue
        count = sum(len(b.content.findall(f"{ESPI}IntervalReading")) for b in blocks)
        length = _int(rt, "intervalLength") or 0
        by_flow[name].append((length, -count, rt, blocks))
    if not by_flow.get("consumption"):
        gas = {UOM_GAS[u] for u in uoms if u in UOM_GAS}
        if gas:
            _refuse_kind(gas)
        shown = ", ".join(str(u) for u in sorted(u for u in uoms if u is not None)) or gettext(
            "none"
        )
        raise UploadRefused(
            gettext(
                "The readings are not in watt-hours (uom %(uom)s), so the file has no "
                "electricity consumption we can use; nothing was stored."
            )
            % {"uom": shown}
        )
    results: dict[str, _Months] = {}
    errors: list[str] = []
    problems = 0
    total = 0
    for name, options in by_flow.items():
        # the same energy is often given at several granularities (15-minute and daily): use
        # the finest, never their sum
        options.sort(key=lambda o: (o[0] or 10**9, o[1]))
        if len(options) > 1:
            notes.append(
                gettext("%(n)s coarser %(name)s reading(s) of the same meter unused.")
                % {"n": len(options) - 1, "name": gettext(name)}
            )
        _length, _count, rt, blocks = options[0]
        try:
            scale = Decimal(10) ** int(_text(rt, "powerOfTenMultiplier") or "0") / Decimal(1000)
        except (ValueError, InvalidOperation) as exc:
            raise UploadRefused(
                gettext("The powerOfTenMultiplier is not a number; nothing was stored.")
            ) from exc
        default_seconds = _int(rt, "intervalLength")
        months = results[name] = _Months()
        for block in blocks:
            for reading in block.content.findall(f"{ESPI}IntervalReading"):
                total += 1
                if total > MAX_READINGS:
                    raise UploadRefused(
                        gettext("The file has too many readings; nothing was stored.")
                    )
                problem = _add_reading(reading, months, meter.zone, scale, default_seconds)
                if problem:
                    problems += 1
                    if len(errors) < MAX_ERRORS:
                        errors.append(
                            gettext("IntervalReading %(n)s: %(problem)s")
                            % {"n": total, "problem": problem}
                        )
    _refuse_if(errors, problems, gettext_noop("Green Button file"))
    consumption = results["consumption"]
    if not consumption:
        raise UploadRefused(gettext("The file has no interval readings; nothing was stored."))
    generation = results.get("generation")
    return ParsedUpload(
        months=consumption.months(),
        generation=generation.months() if generation else [],
        notes=tuple(notes),
    )


def _add_reading(
    reading: Element, months: _Months, zone: LocalTime, scale: Decimal, default: int | None
) -> str | None:
    period = reading.find(f"{ESPI}timePeriod")
    start = _text(period, "start")
    value = _text(reading, "value")
    try:
        epoch = int(start or "")
        at = zone.local(epoch)
    except (ValueError, OverflowError, OSError):
        return gettext("the start time %(value)s is not epoch seconds.") % {
            "value": repr(str(start)[:20])
        }
    duration = _int(period, "duration") or default or 0
    try:
        kwh = Decimal(value or "") * scale
    except InvalidOperation:
        return gettext("the value %(value)s is not a number.") % {"value": repr(str(value)[:20])}
    days = max(duration, 1) / 86400
    if days > MAX_PERIOD_DAYS:
        return gettext("the duration %(seconds)s s is longer than a billing period.") % {
            "seconds": duration
        }
    if not kwh.is_finite() or kwh < 0 or kwh > MAX_INTERVAL_KWH * 96 * max(1, round(days)):
        return gettext("the value %(value)s is out of range.") % {"value": repr(str(value)[:20])}
    if duration <= 86400:
        months.add_day(at.date(), kwh)
    else:
        end = zone.local(epoch + duration)
        months.add_period(at.date(), end.date(), kwh)
    return None
