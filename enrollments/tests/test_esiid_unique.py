"""The database refuses two open enrollments for one ESIID, even when the application-level
check is raced (two submits that both passed it)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from enrollments.models import Enrollment, ServiceAccount

pytestmark = pytest.mark.django_db


def test_second_open_enrollment_for_the_same_esiid_is_refused_by_the_database():
    call_command("seed_demo", "--password", "x-pass-12345", stdout=StringIO())
    first = Enrollment.objects.get(service_account__esiid="1008901023806680370100")
    assert first.esiid == "1008901023806680370100"
    premise = ServiceAccount.objects.create(
        customer=first.customer,
        utility=first.service_account.utility,
        esiid=first.esiid,
        address_line1="1 Other St",
        city="Houston",
        zip_code="77002",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            customer=first.customer,
            service_account=premise,
            esiid=premise.esiid,
            plan=first.plan,
            channel=Enrollment.Channel.API,
            status=Enrollment.Status.SUBMITTED,
        )
    # A closed enrollment for the same ESIID is history, not a conflict.
    Enrollment.objects.create(
        customer=first.customer,
        service_account=premise,
        esiid=premise.esiid,
        plan=first.plan,
        channel=Enrollment.Channel.API,
        status=Enrollment.Status.REJECTED,
    )
    assert Enrollment.objects.filter(esiid=first.esiid).count() == 2
