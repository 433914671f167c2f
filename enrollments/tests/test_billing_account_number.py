"""Billing account number: lazy fetch, the replacement value that never fetches, backfill."""

from __future__ import annotations

import io

import httpx
import pytest
import respx
from django.core.management import CommandError, call_command

from conftest import set_fault
from enrollments.billing_handlers import billing_account_number_get
from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit
from opsadmin.management import journeys as lifecycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(simulators_url):
    call_command("seed_demo", password="pw-demo-1", stdout=io.StringIO())
    return simulators_url


def _lookups(sim: str) -> int:
    return httpx.get(f"{sim}/esg/_stats").json()["lookup_calls"]


def _ban(sim: str, esiid: str) -> str:
    response = httpx.get(
        f"{sim}/esg/billing-accounts",
        params={"esiid": esiid},
        headers={"Authorization": "Bearer t"},
    )
    return response.json()["billing_account_number"]


def _enroll(esiid: str, *, utility="centerpoint", zip_code="77002", status="accepted"):
    enrollment = enrollment_submit(
        data=EnrollmentInput(
            zip_code=zip_code,
            utility_code=utility,
            customer_type_code="residential",
            plan_code="SAVER12",
            first_name="Lee",
            last_name="Ortiz",
            email=f"lee{esiid[-4:]}@example.com",
            esiid=esiid,
            address_line1="5 Elm St",
            city="Houston",
        ),
        channel="quick",
    )
    # the billing system's answers, recorded as the outbox and the status poll record them
    lifecycle.acknowledge(enrollment)
    if status != "pending":
        lifecycle.answer(enrollment, status)
    return enrollment


def test_stored_number_is_returned_without_asking(demo):
    enrollment = _enroll("10089010000000101")
    Enrollment.objects.filter(pk=enrollment.pk).update(billing_account_number="BA0000000042")
    enrollment.refresh_from_db()
    assert billing_account_number_get(enrollment=enrollment) == "BA0000000042"
    assert _lookups(demo) == 0


def test_missing_number_is_fetched_once_and_stored(demo):
    enrollment = _enroll("10089010000000102")
    expected = _ban(demo, "10089010000000102")
    before = _lookups(demo)
    assert billing_account_number_get(enrollment=enrollment) == expected
    assert Enrollment.objects.get(pk=enrollment.pk).billing_account_number == expected
    assert billing_account_number_get(enrollment=enrollment) == expected
    assert _lookups(demo) == before + 1  # the second read used the stored value


def test_token_utility_has_no_number_and_never_asks(demo):
    enrollment = _enroll("10400510000000103", utility="tnmp", zip_code="77510")
    assert billing_account_number_get(enrollment=enrollment) == ""
    assert _lookups(demo) == 0
    assert Enrollment.objects.get(pk=enrollment.pk).billing_account_number == ""


def test_unreachable_or_unknown_gives_empty_and_stores_nothing(demo):
    unknown = _enroll("10089010000099999")
    assert billing_account_number_get(enrollment=unknown) == ""
    down = _enroll("10089010000000104")
    set_fault(demo, "esg", outage=True)
    assert billing_account_number_get(enrollment=down) == ""
    assert Enrollment.objects.get(pk=down.pk).billing_account_number == ""


def test_replacement_value_reads_stored_field_and_never_calls_the_api(demo):
    """[BILLING_ACCOUNT_NUMBER] never requests the number from the API."""
    from notices import registry as notices_registry

    missing = _enroll("10089010000000105")
    stored = _enroll("10089010000000106")
    Enrollment.objects.filter(pk=stored.pk).update(billing_account_number="BA1234567890")
    stored.refresh_from_db()
    assert notices_registry.get("BILLING_ACCOUNT_NUMBER") is not None
    # respx intercepts every httpx call in this block: any request would fail the test.
    with respx.mock(assert_all_called=False) as router:
        text_missing = notices_registry.render(
            "Account: [BILLING_ACCOUNT_NUMBER]",
            record_kind="enrollment",
            record=missing,
            html=False,
        )
        text_stored = notices_registry.render(
            "Account: [BILLING_ACCOUNT_NUMBER]", record_kind="enrollment", record=stored, html=False
        )
        assert router.calls.call_count == 0
    assert text_missing == "Account: "
    assert text_stored == "Account: BA1234567890"
    assert _lookups(demo) == 0
    assert Enrollment.objects.get(pk=missing.pk).billing_account_number == ""


def test_backfill_batched_resumable_and_safe_twice(demo):
    esiids = [f"100890100000002{n:02d}" for n in range(7)]
    rows = [_enroll(e) for e in esiids]
    rows.append(_enroll("10089010000199999"))  # the billing system has no account for it
    keep = rows[1]
    Enrollment.objects.filter(pk=keep.pk).update(billing_account_number="BA0000000001")
    token = _enroll("10400510000000207", utility="tnmp", zip_code="77510")
    pending = _enroll("10089010000000299", status="pending")

    # Interrupted after 4 rows (as if stopped): it prints where to resume.
    out = io.StringIO()
    call_command("backfill_billing_account_numbers", batch_size=3, limit=4, stdout=out)
    text = out.getvalue()
    assert text.splitlines()[0] == "7 enrollments without a billing account number to look up."
    assert (
        f"  3/7 looked up, 3 stored, 0 without a number (resume with --after-id {rows[3].pk})"
        in text
    )
    assert (
        f"  4/7 looked up, 4 stored, 0 without a number (resume with --after-id {rows[4].pk})"
        in text
    )
    filled = Enrollment.objects.exclude(billing_account_number="").filter(
        pk__in=[r.pk for r in rows]
    )
    assert filled.count() == 5  # 4 fetched + the one that already had a number

    # Rerun: continues with what is still blank.
    out = io.StringIO()
    call_command("backfill_billing_account_numbers", batch_size=3, stdout=out)
    assert out.getvalue().splitlines()[0] == (
        "3 enrollments without a billing account number to look up."
    )
    assert "Done: 3 looked up, 2 stored, 1 without one." in out.getvalue()
    for row, esiid in zip(rows[:7], esiids, strict=True):
        expected = "BA0000000001" if row.pk == keep.pk else _ban(demo, esiid)
        assert Enrollment.objects.get(pk=row.pk).billing_account_number == expected
    assert Enrollment.objects.get(pk=rows[7].pk).billing_account_number == ""
    assert Enrollment.objects.get(pk=token.pk).billing_account_number == ""
    assert Enrollment.objects.get(pk=pending.pk).billing_account_number == ""

    # Twice: nothing changes (only the unknown ESIID is asked again).
    before = dict(Enrollment.objects.values_list("pk", "billing_account_number"))
    out = io.StringIO()
    call_command("backfill_billing_account_numbers", stdout=out)
    assert "Done: 1 looked up, 0 stored, 1 without one." in out.getvalue()
    assert dict(Enrollment.objects.values_list("pk", "billing_account_number")) == before


def test_backfill_stops_when_billing_is_down(demo):
    row = _enroll("10089010000000301")
    set_fault(demo, "esg", outage=True)
    with pytest.raises(CommandError, match="resume with --after-id 0"):
        call_command("backfill_billing_account_numbers", stdout=io.StringIO())
    assert Enrollment.objects.get(pk=row.pk).billing_account_number == ""
