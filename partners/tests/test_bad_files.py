"""Bad files get a clear error and import nothing."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enrollments.models import Enrollment
from partners.importfile import COLUMN_NAMES
from partners.models import ImportBatch
from partners.tests.conftest import csv_bytes, row, xlsx_bytes

pytestmark = pytest.mark.django_db


def post(client, partner, name: str, content: bytes):
    response = client.post(
        "/partners/imports/", {"partner": partner.pk, "file": SimpleUploadedFile(name, content)}
    )
    assert ImportBatch.objects.count() == 0
    assert Enrollment.objects.count() == 0
    assert response.status_code == 422
    return response.content.decode()


def test_pdf_named_csv(ops_client, market, partner_a):
    html = post(ops_client, partner_a, "sales.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    assert "The file is named .csv but it is a PDF document." in html


def test_csv_named_xlsx(ops_client, market, partner_a):
    html = post(ops_client, partner_a, "sales.xlsx", csv_bytes([row(1)]))
    assert "The file is named .xlsx but it is a text (CSV) file." in html


def test_plain_zip_named_xlsx(ops_client, market, partner_a):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "hello")
    html = post(ops_client, partner_a, "sales.xlsx", buffer.getvalue())
    assert "The file is named .xlsx but it is a ZIP archive." in html


def test_old_xls(ops_client, market, partner_a):
    html = post(
        ops_client, partner_a, "sales.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
    )
    assert "old Excel 97-2003 (.xls)" in html


def test_other_extension(ops_client, market, partner_a):
    html = post(ops_client, partner_a, "sales.txt", csv_bytes([row(1)]))
    assert "Upload a .csv or .xlsx file." in html


def test_over_size_limit(ops_client, market, partner_a, settings):
    settings.PARTNERS_IMPORT_MAX_BYTES = 1000
    content = csv_bytes([row(n) for n in range(1, 30)])
    assert len(content) > 1000
    html = post(ops_client, partner_a, "sales.csv", content)
    assert "The file is larger than the 1000\xa0bytes limit. Split it into smaller files." in html


def test_zip_bomb(ops_client, market, partner_a):
    # A real workbook plus a part that inflates 200 MB from a few hundred KB.
    buffer = io.BytesIO(xlsx_bytes([row(1)]))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/bomb.bin", b"\0" * (200 * 1024 * 1024))
    content = buffer.getvalue()
    assert len(content) < 1024 * 1024
    html = post(ops_client, partner_a, "sales.xlsx", content)
    assert (
        "The workbook expands to far more than its size (a zip bomb?). It was not opened." in html
    )


def test_zip_bomb_by_total_size(market, partner_a, settings):
    """Parts that do not compress (no ratio alarm) but together exceed the total limit."""
    from partners.importfile import ImportFileError, read_import_file

    settings.PARTNERS_IMPORT_MAX_UNCOMPRESSED = 1536 * 1024

    big = io.BytesIO()
    with (
        zipfile.ZipFile(big, "w", compression=zipfile.ZIP_STORED) as out,
        zipfile.ZipFile(io.BytesIO(xlsx_bytes([row(1)]))) as src,
    ):
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("xl/media/a.bin", os.urandom(1024 * 1024))
        out.writestr("xl/media/b.bin", os.urandom(1024 * 1024))
    with pytest.raises(ImportFileError) as exc:
        read_import_file(name="s.xlsx", content=big.getvalue())
    assert exc.value.code == "zip_bomb"
    assert exc.value.message == (
        "The workbook expands to 2.0\xa0MB; the limit is 1.5\xa0MB. It was not opened."
    )


def test_missing_columns(ops_client, market, partner_a):
    columns = [c for c in COLUMN_NAMES if c not in ("esiid", "email")]
    html = post(ops_client, partner_a, "sales.csv", csv_bytes([row(1)], columns=columns))
    assert "The file is missing required columns: email, esiid. Start from the template." in html


def test_missing_columns_xlsx(ops_client, market, partner_a):
    columns = [c for c in COLUMN_NAMES if c != "plan_code"]
    html = post(ops_client, partner_a, "sales.xlsx", xlsx_bytes([row(1)], columns=columns))
    assert "The file is missing required column: plan_code." in html


def test_formulas_are_never_run_and_refuse_the_file(ops_client, market, partner_a):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMN_NAMES))
    r = row(1)
    ws.append([r[c] for c in COLUMN_NAMES])
    ws.append([row(2)[c] for c in COLUMN_NAMES])
    ws["G3"] = '=HYPERLINK("http://evil.example","x")'
    ws["B2"] = "=75200+1"
    buffer = io.BytesIO()
    wb.save(buffer)
    html = post(ops_client, partner_a, "sales.xlsx", buffer.getvalue())
    assert "The workbook holds formulas (cells B2, G3). Formulas are never run here" in html


def test_not_utf8(ops_client, market, partner_a):
    content = csv_bytes([row(1, first_name="José")]).decode().encode("cp1252")
    html = post(ops_client, partner_a, "sales.csv", content)
    assert "The file is not UTF-8 text (byte 0xE9 at position" in html
    assert "Save it as &#x27;CSV UTF-8 (comma delimited)&#x27;." in html


def test_utf16(ops_client, market, partner_a):
    content = csv_bytes([row(1)]).decode().encode("utf-16")
    html = post(ops_client, partner_a, "sales.csv", content)
    assert "The file is UTF-16 text, not UTF-8." in html


def test_empty_file(ops_client, market, partner_a):
    response = ops_client.post(
        "/partners/imports/", {"partner": partner_a.pk, "file": SimpleUploadedFile("a.csv", b"")}
    )
    assert response.status_code == 422
    assert "The submitted file is empty." in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_utf8_bom_is_fine(market, partner_a, ops_user):
    from partners.services import import_batch_create

    batch = import_batch_create(
        partner=partner_a,
        file_name="a.csv",
        content=b"\xef\xbb\xbf" + csv_bytes([row(1, first_name="José")]),
        actor=ops_user,
    )
    assert batch.total_rows == 1
