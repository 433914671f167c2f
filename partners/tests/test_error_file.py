"""Issue #23: the Sales Importer's error file carries the original row (every column of the
uploaded file) with the error, in the file's own column order; an SSN only as last 4."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from partners.services import import_batch_create, import_batch_process
from partners.tests.conftest import csv_bytes, row


def test_error_file_has_the_original_row_in_file_order(ops_client, market, partner_a, ops_user):
    columns = ["last_name", "first_name", "email", "ssn", "zip_code", "utility_code"]
    columns += ["customer_type_code", "plan_code", "esiid", "address_line1", "city", "phone"]
    content = csv_bytes([row(1, zip_code="99999", ssn="123456789")], columns=columns)
    batch = import_batch_create(
        partner=partner_a, file_name="mixed.csv", content=content, actor=ops_user
    )
    import_batch_process(batch_id=batch.pk)
    download = ops_client.get(f"/partners/imports/{batch.pk}/errors.xlsx")
    assert download.status_code == 200
    wb = load_workbook(io.BytesIO(download.content), read_only=True)
    rows = [tuple(r) for r in wb.active.iter_rows(values_only=True)]
    assert rows[0] == ("row", "column", "message", *columns)
    sent = dict(zip(columns, content.decode().splitlines()[1].split(","), strict=True))
    expected = [sent[c] if c != "ssn" else "*****6789" for c in columns]
    assert rows[1] == ("2", "zip_code", "Oops! We don't service your area!", *expected)
    assert "123456789" not in str(rows)
