"""Sales Importer: happy path, row errors, re-upload, progress, history, downloads."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from billing.models import BillingRequest
from enrollments.models import Enrollment, EnrollmentEvent
from partners.models import ImportBatch, ImportRowError, PartnerEnrollment
from partners.services import import_batch_create, import_batch_process
from partners.tests.conftest import csv_bytes, esiid, row

pytestmark = pytest.mark.django_db


def upload(client, partner, name: str, content: bytes, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/partners/imports/",
        {"partner": partner.pk, "file": SimpleUploadedFile(name, content)},
        **extra,
    )


def test_upload_queues_batch_and_processing_creates_enrollments(
    ops_client, ops_user, market, partner_a, django_capture_on_commit_callbacks
):
    content = csv_bytes(
        [
            row(1),
            row(2, plan_code="COMM36"),  # non-web plan: the importer sells it
            row(3, zip_code="99999"),
            row(4, email="not-an-email"),
            row(5, esiid="10089010000000001"),  # CenterPoint's prefix, not Oncor's
        ]
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(ops_client, partner_a, "sales.csv", content)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/partners/imports/{batch.pk}/"
    assert (batch.state, batch.total_rows, batch.file_format) == ("queued", 5, "csv")
    assert batch.uploaded_by == ops_user
    assert len(callbacks) == 1  # the Celery task, after commit

    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.state, batch.processed_rows) == ("done", 5)
    assert (batch.created_count, batch.error_count, batch.duplicate_count) == (2, 3, 0)
    enrollments = Enrollment.objects.order_by("pk")
    assert [e.plan.code for e in enrollments] == ["SAVER12", "COMM36"]
    assert {e.channel for e in enrollments} == {"importer"}
    assert {e.status for e in enrollments} == {"submitted"}
    assert [e.created_by for e in enrollments] == [ops_user, ops_user]
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 2
    links = PartnerEnrollment.objects.order_by("row_number")
    assert [(link.partner, link.row_number, link.partner_reference) for link in links] == [
        (partner_a, 2, "S-1"),
        (partner_a, 3, "S-2"),
    ]
    assert EnrollmentEvent.objects.filter(source="importer:acme-sales").count() == 2
    errors = list(ImportRowError.objects.values_list("row_number", "column", "message"))
    assert errors == [
        (4, "zip_code", "Oops! We don't service your area!"),
        (5, "email", "Enter a valid email address."),
        (
            6,
            "esiid",
            "This ESIID does not belong to Oncor (expected it to start with 1044372).",
        ),
    ]

    page = ops_client.get(f"/partners/imports/{batch.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Oops! We don&#x27;t service your area!" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no more polling

    download = ops_client.get(f"/partners/imports/{batch.pk}/errors.xlsx")
    assert download.status_code == 200
    wb = load_workbook(io.BytesIO(download.content), read_only=True)
    rows = [tuple(c for c in r) for r in wb.active.iter_rows(values_only=True)]
    # Where and why, then the row as uploaded (issue #23: the original row goes with it).
    header = rows[0]
    assert header[:3] == ("row", "column", "message")
    assert rows[1][:3] == ("4", "zip_code", "Oops! We don't service your area!")
    assert len(rows) == 4
    uploaded = list(csv.reader(io.StringIO(content.decode())))
    assert list(header[3:]) == uploaded[0]
    assert [[cell or "" for cell in r[3:]] for r in rows[1:]] == [
        [
            v if c != "ssn" or not v else f"*****{v[-4:]}"
            for c, v in zip(uploaded[0], line, strict=True)
        ]
        for line in uploaded[3:6]
    ]

    history = ops_client.get("/partners/imports/").content.decode()
    assert "sales.csv" in history and "ops1" in history


def test_xlsx_import_with_numbers_and_leading_equals_text(market, partner_a, ops_user):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    columns = list(row(7))
    ws.append(columns)
    for n in (7, 8):
        values = [row(n)[c] for c in columns]
        values[columns.index("zip_code")] = 75201  # typed as a number
        ws.append(values)
    # an ESIID typed as a number: Excel keeps 15 digits, so it must not import as another
    ws.cell(row=3, column=columns.index("esiid") + 1).value = int(esiid(8))
    cell = ws.cell(row=2, column=columns.index("last_name") + 1)
    cell.value = "=Garcia"
    cell.data_type = "s"  # a text cell that starts with '=' (not a formula)
    buffer = io.BytesIO()
    wb.save(buffer)
    batch = import_batch_create(
        partner=partner_a, file_name="sales.xlsx", content=buffer.getvalue(), actor=ops_user
    )
    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.file_format, batch.created_count, batch.error_count) == ("xlsx", 1, 1)
    enrollment = Enrollment.objects.get()
    assert enrollment.service_account.esiid == esiid(7)
    assert enrollment.customer.last_name == "=Garcia"  # a leading '=' stays text
    assert list(ImportRowError.objects.values_list("row_number", "column", "message")) == [
        (3, "esiid", "An ESIID is 17 or 22 digits and starts with 10.")
    ]


def test_same_file_twice_imports_nothing_again(ops_client, market, partner_a):
    content = csv_bytes([row(1), row(2)])
    upload(ops_client, partner_a, "a.csv", content)
    import_batch_process(batch_id=ImportBatch.objects.get().pk)
    response = upload(ops_client, partner_a, "renamed.csv", content)
    assert response.status_code == 422
    assert "This file was already imported for Acme Sales" in response.content.decode()
    assert ImportBatch.objects.count() == 1
    assert Enrollment.objects.count() == 2


def test_rows_already_imported_are_skipped(market, partner_a, partner_b, ops_user):
    first = import_batch_create(
        partner=partner_a, file_name="a.csv", content=csv_bytes([row(1), row(2)]), actor=ops_user
    )
    import_batch_process(batch_id=first.pk)
    # another file: two rows already imported (one of them twice), one new
    second = import_batch_create(
        partner=partner_a,
        file_name="b.csv",
        content=csv_bytes([row(2), row(3), row(1), row(3)]),
        actor=ops_user,
    )
    second = import_batch_process(batch_id=second.pk)
    assert (second.created_count, second.duplicate_count, second.error_count) == (1, 3, 0)
    assert Enrollment.objects.count() == 3
    assert BillingRequest.objects.count() == 3
    # running the same batch again (a redelivered task) creates nothing and keeps the counts
    second.state = ImportBatch.State.RUNNING
    second.save(update_fields=["state"])
    again = import_batch_process(batch_id=second.pk)
    assert (again.created_count, again.duplicate_count) == (1, 3)
    assert Enrollment.objects.count() == 3


def test_progress_partial_with_and_without_htmx(ops_client, market, partner_a, ops_user):
    batch = import_batch_create(
        partner=partner_a, file_name="a.csv", content=csv_bytes([row(1), row(2)]), actor=ops_user
    )
    ImportBatch.objects.filter(pk=batch.pk).update(state="running", processed_rows=1)
    response = ops_client.get(f"/partners/imports/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert (
        f'<progress id="import-bar-{batch.pk}" class="progress" max="2" value="1">50%</progress>'
        in html
    )
    assert f'<label for="import-bar-{batch.pk}">Importing: 1 of 2 rows (50%)</label>' in html
    assert 'hx-trigger="every 1s"' in html

    response = ops_client.get(f"/partners/imports/{batch.pk}/progress/")
    assert response.status_code == 302
    page = ops_client.get(f"/partners/imports/{batch.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page  # without JS: the page reloads
    assert 'hx-trigger="every 1s"' in page

    import_batch_process(batch_id=batch.pk)
    html = ops_client.get(
        f"/partners/imports/{batch.pk}/progress/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'max="2" value="2">100%</progress>' in html
    assert "Done: 2 of 2 rows (100%)" in html
    assert 'hx-trigger="every 1s"' not in html


def test_templates_download_with_every_column(ops_client, market):
    from partners.importfile import COLUMNS

    response = ops_client.get("/partners/imports/template.csv")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].split(",") == [c.name for c in COLUMNS]
    assert len(lines) == 2
    xlsx = ops_client.get("/partners/imports/template.xlsx")
    wb = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert list(rows[0]) == [c.name for c in COLUMNS]
    assert rows[1][1] == "75201"
    assert ops_client.get("/partners/imports/template.pdf").status_code == 404


def test_template_file_imports_cleanly(ops_client, market, partner_a, ops_user):
    content = ops_client.get("/partners/imports/template.xlsx").content
    batch = import_batch_create(
        partner=partner_a, file_name="template.xlsx", content=content, actor=ops_user
    )
    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.created_count, batch.error_count) == (1, 0)


def test_error_download_never_holds_formulas(ops_client, market, partner_a, ops_user):
    content = csv_bytes([row(1, email="=HYPERLINK(1)")])
    batch = import_batch_create(
        partner=partner_a, file_name="a.csv", content=content, actor=ops_user
    )
    import_batch_process(batch_id=batch.pk)
    ImportRowError.objects.filter(batch=batch).update(message="=1+1")
    download = ops_client.get(f"/partners/imports/{batch.pk}/errors.xlsx")
    wb = load_workbook(io.BytesIO(download.content))
    cell = wb.active["C2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_permissions(client, agent_user, ops_user, market, partner_a):
    assert client.get("/partners/imports/").status_code == 302  # anonymous -> login
    client.force_login(agent_user)
    assert client.get("/partners/imports/").status_code == 403
    response = upload(client, partner_a, "a.csv", csv_bytes([row(1)]))
    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0
    client.force_login(ops_user)
    assert client.get("/partners/imports/").status_code == 200


def test_staff_menu_links_the_importer_for_ops_only(client, ops_user, agent_user):
    client.force_login(ops_user)
    assert '<a href="/partners/imports/">Sales Importer</a>' in client.get("/").content.decode()
    client.force_login(agent_user)
    assert "/partners/imports/" not in client.get("/").content.decode()
