"""enrollment_submit's round trips: bounded with and without a batch SubmitContext, and the
context answers exactly as the uncached path does (same rules, same messages)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import BillingRequest
from enrollments.models import ConsentMethod, Enrollment, EnrollmentEvent, Plan, ReferralSource
from enrollments.services import EnrollmentInput, SubmitContext, enrollment_submit
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, ServiceArea, Utility

pytestmark = pytest.mark.django_db

PREFIX = "1044372"


@pytest.fixture
def market(db):
    oncor = Utility.objects.create(
        code="oncor", name="Oncor", market=Utility.Market.ERCOT, esiid_prefixes=[PREFIX]
    )
    ServiceArea.objects.create(utility=oncor, zip_code="75201")
    residential = CustomerType.objects.create(code="residential", name="Residential")
    web = Plan.objects.create(
        code="SAVER12",
        name="Saver 12",
        is_web_plan=True,
        term_months=12,
        energy_charge_cents=Decimal("12.9"),
    )
    phone_only = Plan.objects.create(
        code="COMM36",
        name="Comm 36",
        is_web_plan=False,
        term_months=36,
        energy_charge_cents=Decimal("10.8"),
    )
    for plan in (web, phone_only):
        plan.utilities.set([oncor])
        plan.customer_types.set([residential])
    ReferralSource.objects.create(name="Door hanger")
    ConsentMethod.objects.get_or_create(
        code="recorded_call", defaults={"name": "Recorded call", "requires_document": False}
    )
    return oncor


def data(n: int, **overrides) -> EnrollmentInput:
    values = {
        "zip_code": "75201",
        "utility_code": "oncor",
        "customer_type_code": "residential",
        "plan_code": "SAVER12",
        "first_name": f"First{n}",
        "last_name": "Garcia",
        "email": f"c{n}@example.com",
        "esiid": f"{PREFIX}{n:010d}",
        "address_line1": f"{n} Main St",
        "city": "Dallas",
        "referral_source": "door hanger",
        "consent_method": "recorded_call",
    }
    values.update(overrides)
    return EnrollmentInput(**values)


def test_submit_without_context_stays_within_its_round_trips(market, django_assert_max_num_queries):
    # Before: 25 (plan read twice, enrollment locked and re-read, payload's five lazy reads).
    # Now: 6 validation reads + referral + consent, 5 inserts, the transaction.
    with django_assert_max_num_queries(15):
        enrollment = enrollment_submit(data=data(1), channel="quick")
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.channel) == ("submitted", "quick")
    assert enrollment.submitted_at is not None and enrollment.rescission_deadline is not None
    assert enrollment.referral_source.name == "Door hanger"
    assert enrollment.consent_method.code == "recorded_call"
    event = EnrollmentEvent.objects.get(enrollment=enrollment)
    assert (event.from_status, event.to_status, event.source) == ("draft", "submitted", "quick")
    prospect = BillingRequest.objects.get(subject_type="enrollment", subject_id=enrollment.pk)
    assert prospect.idempotency_key == f"create_prospect:enrollment:{enrollment.pk}"
    assert prospect.payload["esiid"] == f"{PREFIX}0000000001"
    assert prospect.payload["customer"]["customer_type"] == "residential"
    assert prospect.payload["plan_code"] == "SAVER12"


def test_submit_with_context_reads_reference_data_once_per_batch(market):
    context = SubmitContext()
    context.prefetch_open_esiids([f"{PREFIX}{n:010d}" for n in range(1, 11)])
    per_row = []
    for n in range(1, 11):
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            enrollment_submit(data=data(n), channel="importer", context=context)
        per_row.append(len(queries))
    # First row: BEGIN, utility, zips, customer type, plans, referral, consent, 5 inserts,
    # COMMIT. Every later row: BEGIN, 5 inserts, COMMIT.
    assert per_row == [13] + [7] * 9
    assert Enrollment.objects.filter(status="submitted").count() == 10
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 10


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"zip_code": "75202"}, "zip_code", "Oops! We don't service your area!"),
        ({"utility_code": "nope"}, "utility_code", "Unknown utility."),
        ({"customer_type_code": "alien"}, "customer_type_code", "Unknown customer type."),
        ({"plan_code": "COMM36"}, "plan_code", "That plan is not available here."),
        ({"plan_code": "NOPE"}, "plan_code", "That plan is not available here."),
        ({"referral_source": "billboard"}, "referral_source", "Unknown referral source."),
        ({"consent_method": "telepathy"}, "consent_method", "Unknown consent method."),
        ({"promo_code": "FREE"}, "promo_code", "We don't recognise that promo code."),
        (
            {"esiid": "10089010000000001"},
            "esiid",
            "This ESIID does not belong to Oncor (expected it to start with 1044372).",
        ),
    ],
)
def test_context_refuses_exactly_what_the_uncached_path_refuses(market, overrides, field, message):
    """The same refusal with and without a context, twice with the context (cached miss)."""
    context = SubmitContext()
    for ctx in (None, context, context):
        with pytest.raises(ApplicationError) as refused, transaction.atomic():
            enrollment_submit(data=data(7, **overrides), channel="quick", context=ctx)
        assert (refused.value.field, refused.value.message) == (field, message)
    assert Enrollment.objects.count() == 0


def test_context_knows_esiids_it_enrolled_and_those_already_open(market):
    enrollment_submit(data=data(1), channel="api")  # open before the batch
    context = SubmitContext()
    context.prefetch_open_esiids([f"{PREFIX}{n:010d}" for n in (1, 2)])
    assert context.open_esiids == {f"{PREFIX}0000000001"}
    for n in (1, 2, 2):
        try:
            with transaction.atomic():
                enrollment_submit(data=data(n), channel="importer", context=context)
        except ApplicationError as exc:
            assert exc.code == "esiid_taken"
    assert Enrollment.objects.filter(service_account__esiid=f"{PREFIX}0000000002").count() == 1
    assert Enrollment.objects.count() == 2
    # A row rolled back after its insert: the context asks the database again.
    context.forget_esiid(f"{PREFIX}0000000002")
    with pytest.raises(ApplicationError), transaction.atomic():
        enrollment_submit(data=data(2), channel="importer", context=context)
