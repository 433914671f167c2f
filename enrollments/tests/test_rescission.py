"""Rescission is one rule (``enrollments.services.enrollment_rescind``) for every channel: the
same deadline (3 federal business days after the submission's market day), the same statuses
it may leave, the same cancel to the billing system. The Enrollment API only names its
outcome in its own words (``cancelled`` / ``rescission_over``)."""

from __future__ import annotations

from datetime import date

import pytest

from billing.models import BillingRequest
from enrollments.models import Enrollment
from enrollments.services import (
    RescissionClosed,
    enrollment_rescind,
    enrollment_rescindable,
    enrollment_rescission_deadline,
)
from opsadmin import clock
from opsadmin.errors import ApplicationError
from opsadmin.management import journeys
from opsadmin.models import Utility

pytestmark = pytest.mark.django_db

S = Enrollment.Status
# Thursday 2026-07-02; Friday July 3 is the observed Independence Day holiday, so the three
# federal business days are Mon 6, Tue 7, Wed 8.
SUBMITTED_ON = date(2026, 7, 2)
DEADLINE = date(2026, 7, 8)


@pytest.fixture
def oncor():
    return Utility.objects.create(
        code="oncor", name="Oncor", market=Utility.Market.ERCOT, esiid_prefixes=["1044372"]
    )


def _cancels(enrollment: Enrollment) -> list[BillingRequest]:
    return list(BillingRequest.objects.filter(kind="cancel", subject_id=enrollment.pk))


def test_deadline_is_three_federal_business_days_after_the_submission(oncor):
    enrollment = journeys.submit(utility=oncor, plan=journeys.basic_plan(), on=SUBMITTED_ON)
    assert enrollment.rescission_deadline == DEADLINE
    assert enrollment_rescission_deadline(enrollment) == DEADLINE
    # a row written before the deadline was stored gets the same day from its submission
    Enrollment.objects.filter(pk=enrollment.pk).update(rescission_deadline=None)
    enrollment.refresh_from_db()
    assert enrollment_rescission_deadline(enrollment) == DEADLINE
    with clock.travel(DEADLINE):
        assert enrollment_rescindable(enrollment) is True
    with clock.travel(date(2026, 7, 9)):
        assert enrollment_rescindable(enrollment) is False


def test_within_the_window_pending_becomes_rescinded_with_a_cancel_and_no_fee(oncor):
    enrollment = journeys.enrolled(
        S.PENDING, utility=oncor, plan=journeys.basic_plan(), submitted_on=SUBMITTED_ON
    )
    with clock.travel(DEADLINE):
        done = enrollment_rescind(enrollment=enrollment, source="test")
    assert done.status == S.RESCINDED
    [cancel] = _cancels(enrollment)
    assert (cancel.payload["reason"], cancel.payload["etf"], cancel.payload["status"]) == (
        "rescission",
        "0.00",
        "rescinded",
    )
    assert cancel.idempotency_key == f"cancel:enrollment:{enrollment.pk}"


def test_a_submitted_enrollment_is_named_by_the_caller(oncor):
    plan = journeys.basic_plan()
    staff = journeys.submit(utility=oncor, plan=plan, on=SUBMITTED_ON)
    api = journeys.submit(utility=oncor, plan=plan, on=SUBMITTED_ON)
    with clock.travel(SUBMITTED_ON):
        assert enrollment_rescind(enrollment=staff).status == S.RESCINDED
        cancelled = enrollment_rescind(
            enrollment=api, source="api:acme", submitted_becomes=S.CANCELLED
        )
    assert cancelled.status == S.CANCELLED
    assert len(_cancels(staff)) == len(_cancels(api)) == 1


def test_after_the_deadline_nothing_changes_and_the_error_carries_the_deadline(oncor):
    enrollment = journeys.submit(utility=oncor, plan=journeys.basic_plan(), on=SUBMITTED_ON)
    with clock.travel(date(2026, 7, 9)), pytest.raises(RescissionClosed) as refused:
        enrollment_rescind(enrollment=enrollment)
    assert (refused.value.code, refused.value.deadline) == ("rescission_closed", DEADLINE)
    assert refused.value.message == "The rescission window has closed."
    enrollment.refresh_from_db()
    assert enrollment.status == S.SUBMITTED
    assert _cancels(enrollment) == []


def test_an_active_enrollment_cannot_be_rescinded(oncor):
    enrollment = journeys.enrolled(S.ACTIVE, utility=oncor, plan=journeys.basic_plan())
    with pytest.raises(ApplicationError) as refused:
        enrollment_rescind(enrollment=enrollment)
    assert refused.value.code == "not_cancellable"
    assert refused.value.message == "An enrollment that is active cannot be cancelled."
    enrollment.refresh_from_db()
    assert enrollment.status == S.ACTIVE
    assert _cancels(enrollment) == []
