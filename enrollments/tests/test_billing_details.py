"""Enrollment Details: everything about one enrollment, its timeline, its billing requests,
and the ESG fields (split for REST utilities, the legacy Token otherwise)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit
from opsadmin.management import journeys as lifecycle
from opsadmin.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", password="pw-demo-1", stdout=io.StringIO())


def _user(group: str) -> User:
    user = User.objects.create_user(username=f"{group.lower()}-x", password="pw-x-123456")
    user.groups.add(Group.objects.get(name=group))
    return user


def _enroll(esiid="10089010000000501", utility="centerpoint", zip_code="77002") -> Enrollment:
    return enrollment_submit(
        data=EnrollmentInput(
            zip_code=zip_code,
            utility_code=utility,
            customer_type_code="residential",
            plan_code="SAVER12",
            first_name="Maya",
            last_name="Reyes",
            email="maya@example.com",
            esiid=esiid,
            address_line1="9 Oak Ave",
            city="Houston",
        ),
        channel="quick",
    )


VALID = {
    "esg-esg_prospect_id": "P00000077",
    "esg-esg_customer_id": "C-5521",
    "esg-billing_account_number": "BA0000000077",
    "esg-esg_billing_package_id": "PKG-9",
}


def test_details_show_enrollment_timeline_and_billing_requests(
    demo, client, django_assert_max_num_queries
):
    enrollment = _enroll()
    Enrollment.objects.filter(pk=enrollment.pk).update(rejection_reason="")
    client.force_login(_user("Agent"))
    with django_assert_max_num_queries(15):
        response = client.get(f"/enrollments/{enrollment.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "10089010000000501" in html
    assert "Maya Reyes" in html
    assert "SAVER12 — Saver 12" in html
    assert "<td>draft</td><td>submitted</td><td>quick</td>" in html
    assert "<td>Create Prospect</td><td>Queued</td>" in html
    # An agent (no change permission) sees the fields read-only.
    assert "Billing Package Id" in html
    assert 'name="esg-esg_billing_package_id"' not in html


def test_rejected_reason_is_shown(demo, client):
    enrollment = _enroll()
    lifecycle.acknowledge(enrollment)
    lifecycle.answer(enrollment, "rejected", reason="Switch hold on the premise")
    client.force_login(_user("Agent"))
    html = client.get(f"/enrollments/{enrollment.pk}/").content.decode()
    assert "Rejected by the billing system:</strong> Switch hold on the premise" in html


def test_rest_utility_fields_are_split_edited_and_recorded(demo, client):
    enrollment = _enroll()
    ops = _user("Ops")
    client.force_login(ops)
    html = client.get(f"/enrollments/{enrollment.pk}/").content.decode()
    for name in VALID:
        assert f'name="{name}"' in html
    assert 'name="esg-esg_token"' not in html

    response = client.post(f"/enrollments/{enrollment.pk}/", VALID)
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert (
        enrollment.esg_prospect_id,
        enrollment.esg_customer_id,
        enrollment.billing_account_number,
        enrollment.esg_billing_package_id,
    ) == ("P00000077", "C-5521", "BA0000000077", "PKG-9")
    event = enrollment.events.last()
    assert (event.from_status, event.to_status, event.source, event.actor) == (
        "submitted",
        "submitted",
        "staff",
        ops,
    )
    assert event.note == (
        "Billing system fields edited: Prospect Id, Customer Id, Billing Account Number, "
        "Billing Package Id."
    )


def test_invalid_field_is_refused_with_error_and_nothing_changes(demo, client):
    enrollment = _enroll()
    client.force_login(_user("Ops"))
    bad = {**VALID, "esg-esg_billing_package_id": "PKG 9; drop"}
    response = client.post(f"/enrollments/{enrollment.pk}/", bad)
    assert response.status_code == 422
    assert "Use letters, digits and dashes only" in response.content.decode()
    # htmx: the partial comes back (200) with the error
    response = client.post(f"/enrollments/{enrollment.pk}/", bad, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="esg-fields">')
    assert "Use letters, digits and dashes only" in body
    enrollment.refresh_from_db()
    assert enrollment.esg_billing_package_id == ""
    assert enrollment.events.count() == 1


def test_htmx_save_returns_partial(demo, client):
    enrollment = _enroll()
    client.force_login(_user("Ops"))
    response = client.post(f"/enrollments/{enrollment.pk}/", VALID, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Billing system fields saved." in response.content.decode()
    assert "<html" not in response.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.esg_billing_package_id == "PKG-9"


def test_token_utility_keeps_single_token_field(demo, client):
    enrollment = _enroll("10400510000000502", utility="tnmp", zip_code="77510")
    client.force_login(_user("Ops"))
    html = client.get(f"/enrollments/{enrollment.pk}/").content.decode()
    assert 'name="esg-esg_token"' in html
    assert 'name="esg-esg_billing_package_id"' not in html
    response = client.post(f"/enrollments/{enrollment.pk}/", {"esg-esg_token": "abc:def:123"})
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.esg_token == "abc:def:123"


def test_agent_cannot_post_and_customer_cannot_open(demo, client):
    enrollment = _enroll()
    client.force_login(_user("Agent"))
    assert client.post(f"/enrollments/{enrollment.pk}/", VALID).status_code == 403
    enrollment.refresh_from_db()
    assert enrollment.esg_billing_package_id == ""
    customer = User.objects.create_user(username="cust@example.com", password="pw", kind="customer")
    client.force_login(customer)
    assert client.get(f"/enrollments/{enrollment.pk}/").status_code == 403
    client.force_login(_user("Ops"))
    assert client.get("/enrollments/999999/").status_code == 404
