"""A Sales Importer file imported end to end through a real Celery worker."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import wait_until
from enrollments.models import Enrollment
from partners.models import ImportBatch, ImportRowError
from partners.tests.conftest import csv_bytes, row

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_upload_is_imported_by_the_worker_with_progress(
    celery_worker, market, partner_a, ops_client
):
    rows = [row(n) for n in range(1, 61)] + [row(61, plan_code="NOPE")]
    response = ops_client.post(
        "/partners/imports/",
        {"partner": partner_a.pk, "file": SimpleUploadedFile("big.csv", csv_bytes(rows))},
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.total_rows == 61

    seen_progress: set[int] = set()

    def finished():
        html = ops_client.get(
            f"/partners/imports/{batch.pk}/progress/", HTTP_HX_REQUEST="true"
        ).content.decode()
        b = ImportBatch.objects.defer("content").get(pk=batch.pk)
        seen_progress.add(b.processed_rows)
        return b.state == "done" and "Done: 61 of 61 rows (100%)" in html

    wait_until(finished, timeout=60)
    batch.refresh_from_db()
    assert (batch.created_count, batch.error_count, batch.duplicate_count) == (60, 1, 0)
    assert Enrollment.objects.filter(channel="importer").count() == 60
    assert list(ImportRowError.objects.values_list("row_number", "column")) == [(62, "plan_code")]
    assert batch.started_at is not None and batch.finished_at >= batch.started_at
    assert max(seen_progress) == 61
