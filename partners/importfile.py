"""Reading a Sales Importer file safely: sniff, size and zip-bomb limits, header, rows.

Nothing here touches the database. ``read_import_file`` checks the whole file in one
streaming pass (encoding, columns, formulas, row limit, CSV syntax) and either raises
``ImportFileError`` with a message for the person who uploaded the file (a file that fails
here imports nothing) or returns an ``ImportFile`` whose ``iter_rows()`` streams the rows as
strings, one at a time: no pass holds more than one row, so memory does not grow with the
file's length (bench/sales_import.py measures 10k against 50k rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from opsadmin.errors import ApplicationError


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: str
    example: str


# Every column of the batch enrollment file, in template order. The names match
# enrollments.services.EnrollmentInput, so a row maps onto it one to one.
COLUMNS: tuple[Column, ...] = (
    Column(
        "partner_reference", False, "Your own id for the sale (shown back in the API).", "S-1001"
    ),
    Column("zip_code", True, "5-digit service zip code.", "75201"),
    Column("utility_code", True, "Utility (TDSP) code, e.g. oncor, centerpoint.", "oncor"),
    Column("customer_type_code", True, "residential or commercial.", "residential"),
    Column("plan_code", True, "Plan code (web or non-web plans).", "SAVER12"),
    Column("first_name", True, "Customer first name.", "Maria"),
    Column("last_name", True, "Customer last name.", "Garcia"),
    Column("company_name", False, "Company (commercial customers).", ""),
    Column("email", True, "Customer email.", "maria.garcia@example.com"),
    Column("phone", False, "Phone, digits.", "2145550100"),
    Column(
        "esiid",
        True,
        "ESIID (ERCOT: 17 or 22 digits starting with 10). Store as text.",
        "10443720000000001",
    ),
    Column("meter_number", False, "Meter number.", ""),
    Column("address_line1", True, "Service address.", "100 Main St"),
    Column("address_line2", False, "Apartment, suite.", ""),
    Column("city", True, "Service city.", "Dallas"),
    Column("state", False, "2-letter state (default TX).", "TX"),
    Column("enrollment_type", False, "switch (default) or move_in.", "switch"),
    Column("requested_start_date", False, "YYYY-MM-DD (optional).", ""),
    Column("language", False, "en (default) or es.", "en"),
    Column("notice_preference", False, "email (default) or letter.", "email"),
    Column("date_of_birth", False, "YYYY-MM-DD (optional).", ""),
    Column("ssn", False, "9 digits (optional; stored encrypted).", ""),
    Column("billing_address_line1", False, "Billing address if different.", ""),
    Column("billing_city", False, "Billing city.", ""),
    Column("billing_state", False, "Billing state.", ""),
    Column("billing_zip", False, "Billing zip.", ""),
    Column("consent_method", False, "How the customer consented (consent method code).", ""),
    Column("promo_code", False, "Promotional code.", ""),
    Column("referral_source", False, "How the customer heard about us.", ""),
    Column("affiliate_code", False, "Affiliate code.", ""),
    Column("critical_care", False, "yes if critical care / chronic condition (PUCT 25.497).", "no"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)


class ImportFileError(ApplicationError):
    """The file as a whole cannot be imported (nothing from it is imported)."""


@dataclass(frozen=True)
class ImportFile:
    """A checked file: its format, header and row count; ``iter_rows()`` streams its rows."""

    format: str  # "csv" | "xlsx"
    header: tuple[str, ...]
    row_count: int  # rows with any value (blank lines are not rows)
    content: bytes = field(repr=False, compare=False)

    def iter_rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(spreadsheet row number, values by column name) for each row, in file order,
        read from the bytes again as they are consumed (the check already passed, so this
        raises nothing new)."""
        if self.format == "csv":
            records = _csv_records(self.content)
        else:
            records = _xlsx_records(self.content)
        for _number, cells in records:  # up to the header, checked already
            if self.format == "csv" or any(cells):
                break
        return _row_dicts(self.header, records)


def max_bytes() -> int:
    return getattr(settings, "PARTNERS_IMPORT_MAX_BYTES", 5 * 1024 * 1024)


def max_rows() -> int:
    return getattr(settings, "PARTNERS_IMPORT_MAX_ROWS", 20_000)


# Zip-bomb limits for XLSX: total uncompressed size, per-member ratio, member count.
def max_uncompressed() -> int:
    return getattr(settings, "PARTNERS_IMPORT_MAX_UNCOMPRESSED", 100 * 1024 * 1024)


MAX_RATIO = 100
MAX_MEMBERS = 500


def sniff(content: bytes) -> str:
    """What the bytes are, whatever the file is called: 'xlsx', 'zip', 'xls', 'csv' or a
    short description of something else."""
    head = content[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return "a damaged ZIP archive"
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        return "a ZIP archive"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    for magic, what in (
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"MZ", "a Windows program"),
        (b"\x7fELF", "a program"),
    ):
        if head.startswith(magic):
            return what
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf16"
    if b"\x00" in content[:4096]:
        return "a binary file"
    return "csv"


def read_import_file(*, name: str, content: bytes) -> ImportFile:
    """Check and read an uploaded file; raise ``ImportFileError`` with a clear message."""
    if len(content) > max_bytes():
        raise ImportFileError(
            f"The file is larger than the {filesizeformat(max_bytes())} limit. "
            "Split it into smaller files.",
            code="too_large",
        )
    if not content:
        raise ImportFileError("The file is empty.", code="empty")
    lower = name.lower()
    if lower.endswith(".csv"):
        expected = "csv"
    elif lower.endswith(".xlsx"):
        expected = "xlsx"
    else:
        raise ImportFileError("Upload a .csv or .xlsx file.", code="bad_extension")
    kind = sniff(content)
    if kind == "utf16":
        raise ImportFileError(
            "The file is UTF-16 text, not UTF-8. Save it as 'CSV UTF-8 (comma delimited)'.",
            code="encoding",
        )
    if kind == "xls":
        raise ImportFileError(
            "This is an old Excel 97-2003 (.xls) workbook. Save it as .xlsx or CSV UTF-8.",
            code="not_csv_xlsx",
        )
    if kind != expected:
        what = {"csv": "a text (CSV) file", "xlsx": "an Excel workbook"}.get(kind, kind)
        raise ImportFileError(
            f"The file is named .{expected} but it is {what}. Upload a real CSV or XLSX file.",
            code="not_csv_xlsx",
        )
    if kind == "csv":
        _check_csv_text(content)
        records = _csv_records(content)
    else:
        _check_zip(content)
        records = _xlsx_records(content)
    header, count = _check_records(records, kind)
    return ImportFile(format=kind, header=header, row_count=count, content=content)


def _normalise_header(cells: list[str]) -> tuple[str, ...]:
    return tuple(c.strip().lower().replace(" ", "_") for c in cells)


def _check_header(header: tuple[str, ...]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"The file is missing required column{'s' if len(missing) > 1 else ''}: "
            f"{', '.join(missing)}. Start from the template.",
            code="missing_columns",
        )
    seen: set[str] = set()
    for c in header:
        if c and c in seen:
            raise ImportFileError(f"The column {c} appears twice.", code="duplicate_column")
        seen.add(c)


def _check_zip(content: bytes) -> None:
    """Refuse an XLSX whose declared uncompressed size or compression ratio is a bomb,
    before openpyxl inflates anything (zipfile never inflates past a member's declared
    size, so the declared sizes bound the work)."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ImportFileError("The workbook has too many parts.", code="zip_bomb")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise ImportFileError(
                    "The workbook expands to far more than its size (a zip bomb?). "
                    "It was not opened.",
                    code="zip_bomb",
                )
        if total > max_uncompressed():
            raise ImportFileError(
                f"The workbook expands to {filesizeformat(total)}; the limit is "
                f"{filesizeformat(max_uncompressed())}. It was not opened.",
                code="zip_bomb",
            )


def _cell_text(value) -> str:
    """A cell as text. Numbers that are whole become digits (an ESIID typed as a number
    would otherwise read as 1.04437e16); dates become YYYY-MM-DD."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and abs(value) >= 2**53:
        # Past 15-16 digits a spreadsheet number is rounded (an ESIID typed as a number):
        # keep the scientific form so validation refuses it instead of a wrong ESIID.
        return repr(float(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _is_blank(cells: list[str]) -> bool:
    return not any(v.strip() for v in cells)


def _row_dicts(
    header: tuple[str, ...], records: Iterable[tuple[int, list[str]]]
) -> Iterator[tuple[int, dict[str, str]]]:
    known = [(i, c) for i, c in enumerate(header) if c in COLUMN_NAMES]
    for number, cells in records:
        if _is_blank(cells):
            continue  # blank lines are not rows
        yield number, {c: (cells[i].strip() if i < len(cells) else "") for i, c in known}


def _check_records(records: Iterator[tuple[int, list[str]]], kind: str) -> tuple[tuple, int]:
    """The whole-file checks, streaming: header, row limit, CSV syntax, XLSX formulas.
    Returns (header, row count)."""
    limit = max_rows()
    count = 0
    formulas: list[str] = []
    try:
        header = None
        for _number, cells in records:
            if isinstance(cells, _FormulaRow):
                formulas.extend(cells.formulas)
            if header is None:
                if kind == "xlsx" and not any(cells):
                    continue  # a workbook's header is its first row with anything in it
                header = _normalise_header(cells)
                _check_header(header)
                continue
            if _is_blank(cells):
                continue
            count += 1
            if count > limit:
                raise ImportFileError(
                    f"The file has more than {limit:,} rows. Split it into smaller files.",
                    code="too_many_rows",
                )
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}.", code="bad_csv") from exc
    if header is None:
        if kind == "csv":
            raise ImportFileError("The file is empty.", code="empty")
        raise ImportFileError("The workbook's first sheet is empty.", code="empty")
    if formulas:
        shown = ", ".join(formulas[:5]) + (" …" if len(formulas) > 5 else "")
        raise ImportFileError(
            f"The workbook holds formulas (cells {shown}). Formulas are never run here: "
            "paste the cells as values and upload again.",
            code="formulas",
        )
    return header, count


_DECODE_STEP = 1 << 16


def _check_csv_text(content: bytes) -> None:
    """UTF-8 (a BOM allowed) without NUL characters, checked 64 KiB at a time (a decoded
    copy of the whole file would be the pass's largest object)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    view = memoryview(content)
    try:
        for offset in range(0, len(content), _DECODE_STEP):
            decoder.decode(view[offset : offset + _DECODE_STEP])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:  # the whole file once, only to name the byte and its position exactly
            content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"The file is not UTF-8 text (byte 0x{content[exc.start]:02X} at position "
                f"{exc.start}). Save it as 'CSV UTF-8 (comma delimited)'.",
                code="encoding",
            ) from exc
        raise  # pragma: no cover - the incremental and whole-file decoders agree
    finally:
        view.release()
    if b"\x00" in content:  # UTF-8 encodes NUL only as the zero byte
        raise ImportFileError(
            "The file holds NUL characters; it is not a CSV file.", code="not_csv_xlsx"
        )


def _csv_records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every CSV record, the header first, decoded as it is read.
    csv.reader's line_num counts physical lines; a row number is the record index + 1."""
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    for index, cells in enumerate(csv.reader(text)):
        yield index + 1, cells


class _FormulaRow(list):
    """A workbook row's cells, with the addresses of its formula cells."""

    formulas: tuple[str, ...] = ()


def _xlsx_records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet, streamed (openpyxl read_only)."""
    import openpyxl

    try:
        # read_only streams the sheet; data_only=False: a formula cell reads as its text
        # ("=SUM(A1:A2)"), never as a computed value; openpyxl does not evaluate formulas.
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise ImportFileError(
            "The Excel workbook cannot be read (damaged or not a real .xlsx).", code="bad_xlsx"
        ) from exc
    try:
        ws = wb.worksheets[0]
        for number, row in enumerate(ws.iter_rows(), start=1):
            cells = _FormulaRow()
            formulas = []
            for index, cell in enumerate(row):
                if getattr(cell, "data_type", None) == "f":
                    formulas.append(f"{_column_letter(index)}{number}")
                cells.append(_cell_text(getattr(cell, "value", None)))
            if formulas:
                cells.formulas = tuple(formulas)
            yield number, cells
    finally:
        wb.close()
