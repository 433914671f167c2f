"""The Renewal Notices Excel export, read back with openpyxl; the screen; the Celery path."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client

from conftest import wait_until
from renewals.models import RenewalExport, RenewalNotice
from renewals.selectors import EXPORT_HEADERS, RenewalFilters, renewal_notice_rows
from renewals.services import renewal_notices_schedule
from renewals.tests import factories as f

CHICAGO = ZoneInfo("America/Chicago")


def _data():
    renewal = f.plan("MTM", term_months=1)
    plan = f.plan("FIX12", term_months=12, renewal=renewal)
    a = f.enrollment(end=date(2026, 1, 1), plan_obj=plan, ban='=HYPERLINK("x")', company="Acme")
    b = f.enrollment(
        end=date(2026, 2, 1),
        plan_obj=f.plan("FIX3", term_months=3),
        preference="letter",
        first="-Bo",
        last="+Lee",
    )
    renewal_notices_schedule(today=date(2025, 8, 1))
    # The first notice of A went out on 2025-09-02 at 23:30 Chicago (05:30 UTC next day).
    RenewalNotice.objects.filter(enrollment=a, sequence=1).update(
        status="sent", sent=True, sent_at=datetime(2025, 9, 2, 23, 30, tzinfo=CHICAGO)
    )
    return a, b


def _read(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content))["Renewal Notices"]


@pytest.mark.django_db
def test_export_columns_types_and_formatting_read_back(tmp_path):
    a, b = _data()
    out = tmp_path / "renewals.xlsx"
    call_command("export_renewal_notices", "--out", str(out))
    ws = openpyxl.load_workbook(out)["Renewal Notices"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == EXPORT_HEADERS
    assert len(rows) == 7
    assert rows[1] == (
        "Acme",
        '=HYPERLINK("x")',
        a.service_account.esiid,
        "CenterPoint",
        "FIX12",
        "MTM",
        datetime(2026, 1, 1),
        1,
        datetime(2025, 9, 2),
        "Email",
        "Yes",
        datetime(2025, 9, 2),
        "English",
    )
    assert rows[2][9:] == ("Email", "No", None, "English")
    assert rows[4][:2] == ("-Bo +Lee", None)  # no billing account number: empty cell
    assert rows[4][4:7] == ("FIX3", None, datetime(2026, 2, 1))
    assert rows[4][9:] == ("Letter", "No", None, "English")
    # Formula-looking text is a text cell (never a formula), marked with Excel's quote prefix.
    ban = ws["B2"]
    assert (ban.data_type, ban.value, ban.quotePrefix) == ("s", '=HYPERLINK("x")', True)
    assert (ws["A5"].data_type, ws["A5"].value) == ("s", "-Bo +Lee")
    # Dates are real Excel dates with a date format.
    assert ws["G2"].is_date and ws["G2"].number_format == "yyyy-mm-dd"
    assert ws["L2"].is_date
    # Header bold and frozen, autofilter over the data, widths set.
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:M7"
    assert ws.column_dimensions["A"].width == 32
    assert ws.column_dimensions["C"].width == 26


@pytest.mark.django_db
def test_rows_follow_filters():
    a, b = _data()
    rows = list(renewal_notice_rows(filters=RenewalFilters(channel="letter")))
    assert {r[9] for r in rows} == {"Letter"} and len(rows) == 3
    rows = list(renewal_notice_rows(filters=RenewalFilters(sent=True)))
    assert [(r[0], r[7]) for r in rows] == [("Acme", 1)]
    rows = list(renewal_notice_rows(filters=RenewalFilters(end_from=date(2026, 1, 15))))
    assert {r[2] for r in rows} == {b.service_account.esiid}


@pytest.mark.django_db
def test_screen_filters_with_and_without_htmx_and_small_export_downloads():
    _data()
    client = Client()
    client.force_login(f.staff())
    page = client.get("/renewals/", {"channel": "letter"})
    assert page.status_code == 200
    assert b"<h1>Renewal Notices</h1>" in page.content
    assert b"3 notices" in page.content
    partial = client.get("/renewals/", {"sent": "yes"}, HTTP_HX_REQUEST="true")
    assert b"<h1>" not in partial.content and b"1 notice</p>" in partial.content

    response = client.post("/renewals/export/", {"channel": "email"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="renewal-notices-')
    ws = _read(b"".join(response.streaming_content))
    assert [r[9] for r in ws.iter_rows(min_row=2, values_only=True)] == ["Email"] * 3


@pytest.mark.django_db
def test_agent_cannot_open_or_export():
    _data()
    client = Client()
    client.force_login(f.staff("Agent", "agent"))
    assert client.get("/renewals/").status_code == 403
    assert client.post("/renewals/export/").status_code == 403


@pytest.mark.worker
def test_large_export_runs_in_celery_with_progress_and_download(celery_worker, monkeypatch):
    import renewals.views

    monkeypatch.setattr(renewals.views, "SYNC_EXPORT_MAX_ROWS", 2)
    _data()
    client = Client()
    client.force_login(f.staff())
    response = client.post("/renewals/export/", {})
    assert response.status_code == 302
    job = RenewalExport.objects.get()
    assert response["Location"] == f"/renewals/exports/{job.pk}/"
    assert job.total == 6
    page = client.get(response["Location"])
    assert b"<progress" in page.content

    wait_until(lambda: RenewalExport.objects.get(pk=job.pk).state == "done", timeout=60)
    job.refresh_from_db()
    assert (job.done, job.total, job.percent) == (6, 6, 100)
    partial = client.get(f"/renewals/exports/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b"Download the Excel file" in partial.content and b"every 1s" not in partial.content
    download = client.get(f"/renewals/exports/{job.pk}/download/")
    ws = _read(b"".join(download.streaming_content))
    assert ws.max_row == 7


@pytest.mark.django_db
def test_setup_templates_and_letter_queue_pages_open_for_ops():
    client = Client()
    client.force_login(f.staff())
    for url in ("/renewals/setup/", "/notices/", "/notices/letters/", "/notices/1/"):
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/renewals/setup/",
        {
            "notice_count": 3,
            "final_notice_days": 20,  # below PURA's 30: refused
            "short_term_months": 4,
            "short_term_final_notice_days": 15,
            "variable_notice_days": 45,
            "lookahead_days": 400,
        },
    )
    assert response.status_code == 422
