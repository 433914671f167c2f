"""The database refuses two open enrollments for one ESIID, even when the application-level
check is raced (two submits that both passed it)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from enrollments.models import Enrollment, ServiceAccount
from opsadmin import clock
from opsadmin.management import journeys

pytestmark = pytest.mark.django_db


def test_second_open_enrollment_for_the_same_esiid_is_refused_by_the_database():
    call_command("seed_demo", "--password", "x-pass-12345", stdout=StringIO())
    first = Enrollment.objects.get(service_account__esiid="1008901023806680370100")
    assert first.esiid == "1008901023806680370100"

    def racing_insert() -> None:
        """What a submit that raced past the application's check inserts (a new premise
        row and a submitted enrollment, as ``enrollment_submit`` writes them)."""
        premise = ServiceAccount.objects.create(
            customer=first.customer,
            utility=first.service_account.utility,
            esiid=first.esiid,
            address_line1="1 Other St",
            city="Houston",
            zip_code="77002",
        )
        Enrollment.objects.create(
            customer=first.customer,
            service_account=premise,
            esiid=premise.esiid,
            plan=first.plan,
            channel=Enrollment.Channel.API,
            status=Enrollment.Status.SUBMITTED,
        )

    with pytest.raises(IntegrityError), transaction.atomic():
        racing_insert()
    # Service ended (a drop that took effect): the closed enrollment is history, not a
    # conflict; a new customer enrolls the premise through the product.
    journeys.end_service(first, on=clock.today())
    again = journeys.submit(
        utility=first.service_account.utility, plan=first.plan, esiid=first.esiid
    )
    assert again.status == Enrollment.Status.SUBMITTED
    assert Enrollment.objects.filter(esiid=first.esiid).count() == 2
    # ... and the database refuses a racing third while that one is open.
    with pytest.raises(IntegrityError), transaction.atomic():
        racing_insert()
