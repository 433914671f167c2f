"""The Renewal Notices Excel file: streamed with openpyxl's write-only mode (bounded memory).

Header bold and frozen, autofilter over the data, column widths set, dates as real Excel
dates, and text that a spreadsheet could take for a formula (``=``, ``+``, ``-``, ``@``)
stored as a text cell with Excel's quote prefix, never as a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from renewals.selectors import EXPORT_HEADERS

COLUMN_WIDTHS = (32, 22, 26, 22, 20, 18, 16, 9, 15, 12, 12, 12, 30)
FORMULA_PREFIXES = ("=", "+", "-", "@")
PROGRESS_EVERY = 2000


def _text_cell(ws, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"  # openpyxl would make "=..." a formula
    cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    return cell


def write_renewal_export(
    *,
    rows: Iterable[tuple],
    out: str | IO[bytes],
    progress: Callable[[int], None] | None = None,
    headers: tuple[str, ...] = EXPORT_HEADERS,
) -> int:
    """Write the export to ``out`` (path or binary file); returns the number of data rows.

    ``progress(n)`` is called every ``PROGRESS_EVERY`` rows and at the end.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Renewal Notices")
    for index, width in enumerate(COLUMN_WIDTHS[: len(headers)], start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(ws, title)
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)

    prefixes = FORMULA_PREFIXES
    append = ws.append
    count = 0
    for row in rows:
        # Only rows holding formula-like text pay for cell objects; the rest go as values.
        if any(type(v) is str and v.startswith(prefixes) for v in row):
            append(
                [_text_cell(ws, v) if type(v) is str and v.startswith(prefixes) else v for v in row]
            )
        else:
            append(row)
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    wb.save(out)
    if progress is not None:
        progress(count)
    return count
