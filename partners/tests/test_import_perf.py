"""Sales Importer chunks: round trips per row bounded, one bad row (or a row losing a race)
rolled back alone, every row's audit event carries the batch's context."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from pghistory.models import Events

from billing.models import BillingRequest
from enrollments.models import Enrollment, EnrollmentEvent
from partners import services
from partners.models import ImportBatch, ImportRowError, PartnerEnrollment
from partners.services import import_batch_create, import_batch_process
from partners.tests.conftest import csv_bytes, esiid, row

pytestmark = pytest.mark.django_db


def test_chunk_queries_per_row_are_bounded(market, partner_a, ops_user):
    rows = 120  # three chunks of 50, 50, 20
    content = csv_bytes([row(n) for n in range(1, rows + 1)])
    batch = import_batch_create(
        partner=partner_a, file_name="a.csv", content=content, actor=ops_user
    )
    with CaptureQueriesContext(connection) as queries:
        batch = import_batch_process(batch_id=batch.pk)
    assert (batch.created_count, batch.error_count, batch.processed_rows) == (rows, 0, rows)
    # Set-based, per chunk: begin, open-ESIID check, savepoint, one multi-row INSERT each
    # for customers, premises, enrollments, events, outbox rows and partner links, release,
    # counts, commit = 13, whatever the chunk's size. Per batch: a dozen. Row by row (before
    # this change) it was 8 per row; before that 28.5 per row.
    assert len(queries) <= 13 * 3 + 15
    assert len(queries) / rows < 0.5
    assert BillingRequest.objects.filter(kind="create_prospect").count() == rows
    assert (
        EnrollmentEvent.objects.filter(from_status="draft", to_status="submitted").count() == rows
    )


@pytest.fixture(params=["set_based", "row_by_row"])
def chunk_path(request, monkeypatch):
    """Both ways a chunk is imported: set-based, and row by row (its fallback, forced here
    as when a constraint refuses the set-based insert); they must count alike."""
    if request.param == "row_by_row":

        def refused(**kwargs):
            raise IntegrityError("forced: import this chunk row by row")

        monkeypatch.setattr(services, "_import_chunk_set_based", refused)
    return request.param


def test_bad_rows_and_duplicates_inside_a_chunk_leave_the_others(
    market, partner_a, ops_user, chunk_path
):
    content = csv_bytes(
        [
            row(1),
            row(2, zip_code="99999"),  # refused by enrollment_submit
            row(3, esiid=esiid(1), partner_reference="S-3b"),  # the ESIID row 1 just took
            row(1),  # the same row again
            row(4),
        ]
    )
    batch = import_batch_create(
        partner=partner_a, file_name="b.csv", content=content, actor=ops_user
    )
    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.created_count, batch.error_count, batch.duplicate_count) == (2, 2, 1)
    assert list(
        ImportRowError.objects.order_by("row_number").values_list("row_number", "column")
    ) == [
        (3, "zip_code"),
        (4, "esiid"),
    ]
    assert sorted(
        PartnerEnrollment.objects.values_list("row_number", "enrollment__service_account__esiid")
    ) == [(2, esiid(1)), (6, esiid(4))]
    assert Enrollment.objects.count() == 2


def test_a_row_losing_a_race_is_rolled_back_alone(market, partner_a, ops_user, monkeypatch):
    """Row 2's partner link hits the unique (partner, fingerprint) as if a concurrent batch
    of this partner had committed that row first: the chunk's set-based insert is rolled
    back, the chunk is imported row by row, and row 2's customer, premise, enrollment, event
    and outbox row are rolled back with it; rows 1 and 3 of the same chunk are kept."""
    other = import_batch_create(partner=partner_a, file_name="o.csv", content=csv_bytes([row(9)]))
    import_batch_process(batch_id=other.pk)
    taken = PartnerEnrollment.objects.get().row_fingerprint
    real = services.PartnerEnrollment.objects.create

    def create(**kwargs):
        if kwargs["row_number"] == 3:  # the file's second data row
            kwargs["row_fingerprint"] = taken
        return real(**kwargs)

    real_bulk = services.PartnerEnrollment.objects.bulk_create

    def bulk_create(objs, *args, **kwargs):  # the chunk's set-based insert meets it too
        for obj in objs:
            if obj.row_number == 3:
                obj.row_fingerprint = taken
        return real_bulk(objs, *args, **kwargs)

    monkeypatch.setattr(services.PartnerEnrollment.objects, "create", create)
    monkeypatch.setattr(services.PartnerEnrollment.objects, "bulk_create", bulk_create)
    content = csv_bytes([row(1), row(2), row(3)])
    batch = import_batch_create(
        partner=partner_a, file_name="c.csv", content=content, actor=ops_user
    )
    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.created_count, batch.error_count, batch.duplicate_count) == (2, 0, 1)
    kept = set(PartnerEnrollment.objects.filter(batch=batch).values_list("row_number", flat=True))
    assert kept == {2, 4}
    assert not Enrollment.objects.filter(service_account__esiid=esiid(2)).exists()
    assert Enrollment.objects.count() == 3  # rows 9 (other batch), 1 and 3
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 3
    assert EnrollmentEvent.objects.count() == 3


def test_every_created_row_has_an_audit_event_with_the_batch_context(market, partner_a, ops_user):
    content = csv_bytes([row(1), row(2)])
    batch = import_batch_create(
        partner=partner_a, file_name="d.csv", content=content, actor=ops_user
    )
    import_batch_process(batch_id=batch.pk)
    for enrollment in Enrollment.objects.all():
        (event,) = Events.objects.tracks(enrollment).filter(pgh_label="insert")
        assert event.pgh_data["status"] == "submitted"
        assert event.pgh_context["user"] == ops_user.pk
        assert event.pgh_context["import_batch"] == batch.pk
        assert event.pgh_context["url"] == f"/partners/imports/{batch.pk}/"
        assert event.pgh_context["partner"] == "acme-sales"
    assert ImportBatch.objects.get(pk=batch.pk).state == "done"


def test_a_refused_row_repeated_in_a_chunk_is_refused_again(
    market, partner_a, ops_user, chunk_path
):
    bad = row(5, zip_code="99999")
    content = csv_bytes([bad, row(6), bad, row(6)])
    batch = import_batch_create(
        partner=partner_a, file_name="r.csv", content=content, actor=ops_user
    )
    batch = import_batch_process(batch_id=batch.pk)
    assert (batch.created_count, batch.error_count, batch.duplicate_count) == (1, 2, 1)
    assert list(
        ImportRowError.objects.order_by("row_number").values_list("row_number", "column")
    ) == [(2, "zip_code"), (4, "zip_code")]
    assert list(PartnerEnrollment.objects.values_list("row_number", flat=True)) == [3]
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 1


def test_rows_repeated_across_chunks_and_a_redelivered_batch_import_once(
    market, partner_a, ops_user, chunk_path, monkeypatch
):
    """The file is streamed a chunk at a time and nothing per row is kept between chunks:
    a row repeating one two chunks earlier is a duplicate, and a batch whose worker died
    after its first chunk, run again, counts that chunk's rows as created without
    submitting them twice."""
    rows = [row(n) for n in range(1, 121)]  # chunks of 50, 50, 20 (+1)
    rows.append(row(3))  # file row 122 repeats file row 4 (chunk one) in chunk three
    batch = import_batch_create(
        partner=partner_a, file_name="r.csv", content=csv_bytes(rows), actor=ops_user
    )
    real_chunk = services._import_chunk
    calls = []

    def dies_after_the_first_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real_chunk(**kwargs)

    monkeypatch.setattr(services, "_import_chunk", dies_after_the_first_chunk)
    with pytest.raises(RuntimeError):
        import_batch_process(batch_id=batch.pk)
    assert Enrollment.objects.count() == 50  # the first chunk was committed
    monkeypatch.setattr(services, "_import_chunk", real_chunk)
    batch = import_batch_process(batch_id=batch.pk)  # the task, redelivered
    assert (
        batch.processed_rows,
        batch.created_count,
        batch.duplicate_count,
        batch.error_count,
    ) == (121, 120, 1, 0)
    assert Enrollment.objects.count() == 120
    assert PartnerEnrollment.objects.filter(batch=batch).count() == 120
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 120
    assert batch.state == ImportBatch.State.DONE
