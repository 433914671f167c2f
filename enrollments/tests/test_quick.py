"""Quick Enrollment through the test client: every step, with and without htmx."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import BillingRequest
from enrollments.dates import earliest_start_date
from enrollments.models import Customer, Enrollment, EnrollmentDraft
from enrollments.tests.factories import CNP_ESIID, TNMP_ESIID
from opsadmin.models import User

HX = {"HTTP_HX_REQUEST": "true"}


def details(**over) -> dict:
    data = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "email": "Maria.Lopez@example.com",
        "phone": "713-555-0142",
        "language": "es",
        "notice_preference": "email",
        "date_of_birth": "1980-04-02",
        "ssn": "123-45-6789",
        "deposit_alternative": "",
        "esiid": CNP_ESIID,
        "meter_number": "M1",
        "address_line1": "100 Main St",
        "city": "Houston",
        "enrollment_type": "switch",
        "requested_start_date": earliest_start_date("switch").isoformat(),
        "billing_same": "on",
    }
    data.update(over)
    return data


def start(client, zip_code="77002", htmx=False, **extra) -> EnrollmentDraft | None:
    url = reverse("enrollments:quick_start")
    resp = client.post(
        url, {"zip_code": zip_code, "customer_type": "residential", **extra}, **(HX if htmx else {})
    )
    return resp, EnrollmentDraft.objects.order_by("-pk").first()


def step(client, draft, name, data, htmx=False, **kw):
    url = reverse("enrollments:quick_step", kwargs={"token": draft.token, "step": name})
    return client.post(url, data, **(HX if htmx else {}), **kw)


def run_to_review(client, htmx=False, **detail_over) -> EnrollmentDraft:
    resp, draft = start(client, htmx=htmx)
    assert resp.status_code == (200 if htmx else 303)
    assert step(
        client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"}, htmx
    ).status_code in (200, 303)
    assert step(client, draft, "products", {"plan": "SAVER12"}, htmx).status_code in (200, 303)
    assert step(client, draft, "customer", {"customer": "new"}, htmx).status_code in (200, 303)
    resp = step(client, draft, "details", details(**detail_over), htmx)
    assert resp.status_code in (200, 303), resp.content.decode()[:3000]
    draft.refresh_from_db()
    assert draft.step == "review"
    return draft


def submit(client, draft, htmx=False):
    return step(
        client,
        draft,
        "review",
        {
            "idempotency_token": str(draft.token),
            "ack_efl": "on",
            "ack_tos": "on",
            "ack_yrac": "on",
            "ack_rescission": "on",
        },
        htmx,
    )


@pytest.mark.django_db
def test_needs_the_enrollment_permission(client, catalogue):
    url = reverse("enrollments:quick_start")
    assert client.get(url).status_code == 302  # to login
    viewer = User.objects.create_user(username="viewer", password="x", kind="staff")
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"zip_code": "77002", "customer_type": "residential"}).status_code == 403
    )
    assert EnrollmentDraft.objects.count() == 0


@pytest.mark.django_db
def test_unserved_zip_and_bad_zip(agent_client, catalogue):
    resp, draft = start(agent_client, zip_code="99999")
    assert resp.status_code == 422
    assert "Oops! We don&#x27;t service your area!" in resp.content.decode()
    assert draft is None
    resp, _ = start(agent_client, zip_code="99999", htmx=True)
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Oops! We don&#x27;t service your area!" in body and "<html" not in body
    resp, _ = start(agent_client, zip_code="7700")
    assert "Enter a 5-digit zip code." in resp.content.decode()


@pytest.mark.django_db
def test_promo_codes_checked(agent_client, catalogue):
    resp, _ = start(agent_client, promo_code="NOPE")
    assert "We don&#x27;t recognise that promo code." in resp.content.decode()
    resp, _ = start(agent_client, promo_code="oldpromo")
    assert "That promo code is expired or not valid here." in resp.content.decode()
    resp, draft = start(agent_client, promo_code="welcome50")
    assert resp.status_code == 303
    assert draft.data["promo_code"] == "WELCOME50"


@pytest.mark.django_db
def test_utility_choice_only_where_the_zip_has_several(agent_client, catalogue):
    resp, draft = start(agent_client, zip_code="77494", htmx=True)
    body = resp.content.decode()
    assert '<select name="utility"' in body
    assert ">CenterPoint</option>" in body and ">TNMP</option>" in body
    resp, draft = start(agent_client, zip_code="77002", htmx=True)
    body = resp.content.decode()
    assert '<input type="hidden" name="utility" value="centerpoint"' in body
    assert "Utility: <strong>CenterPoint</strong>" in body
    # Phone consent is preselected for agents.
    assert 'value="phone" id="id_consent_method_1" checked' in body or (
        'value="phone"' in body and "checked" in body.split('value="phone"')[1][:60]
    )


@pytest.mark.django_db
def test_products_table_with_average_prices(agent_client, catalogue, django_assert_max_num_queries):
    _, draft = start(agent_client)
    with django_assert_max_num_queries(18):
        resp = step(
            agent_client,
            draft,
            "options",
            {"utility": "centerpoint", "consent_method": "phone"},
            htmx=True,
        )
    body = resp.content.decode()
    assert resp.status_code == 200
    # Web plans only (COMM36 is not a web plan), cheapest first.
    assert "Saver 12" in body and "Fixed Rate 24" in body and "Commercial Fixed 36" not in body
    # SAVER12 at CenterPoint: 21.3 / 19.8 / 19.1 (test_pricing hand computations)
    saver = body.split("Saver 12")[1].split("</tr>")[0]
    assert [c for c in ("21.3¢", "19.8¢", "19.1¢") if c in saver] == ["21.3¢", "19.8¢", "19.1¢"]
    assert "Avg. price at 500 kWh" in body and "Avg. price at 2000 kWh" in body
    assert "$150.00" in saver and "12 mo" in saver
    # The full page GET of the products step too.
    with django_assert_max_num_queries(18):
        page = agent_client.get(reverse("enrollments:quick_page", kwargs={"token": draft.token}))
    assert page.status_code == 200 and "Saver 12" in page.content.decode()


@pytest.mark.django_db
def test_plan_not_available_is_refused(agent_client, catalogue):
    _, draft = start(agent_client)
    step(agent_client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"})
    resp = step(agent_client, draft, "products", {"plan": "COMM36"})
    assert resp.status_code == 422
    assert "Choose a plan from the table." in resp.content.decode()
    draft.refresh_from_db()
    assert "plan" not in draft.data


@pytest.mark.django_db
def test_steps_cannot_be_skipped(agent_client, catalogue):
    _, draft = start(agent_client)
    assert step(agent_client, draft, "details", details()).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_full_flow_creates_enrollment_login_and_outbox_row(
    agent_client, agent, catalogue, htmx, django_capture_on_commit_callbacks
):
    draft = run_to_review(agent_client, htmx=htmx)
    review = agent_client.get(reverse("enrollments:quick_page", kwargs={"token": draft.token}))
    body = review.content.decode()
    assert "Maria Lopez" in body and "SSN ending 6789" in body
    # no part of the SSN beyond the last 4 shows back (bounded so that a random draft UUID
    # in a link, which may contain "123-45" by chance, does not count)
    assert not re.search(r"(?<![0-9a-f-])123-?45(?![0-9a-f])", body)
    with django_capture_on_commit_callbacks(execute=True):
        resp = submit(agent_client, draft, htmx)
    assert resp.status_code == (200 if htmx else 303)
    enrollment = Enrollment.objects.get()
    assert enrollment.status == Enrollment.Status.SUBMITTED
    assert enrollment.channel == "quick"
    assert enrollment.consent_method.code == "phone"
    assert enrollment.consent_agent == agent
    assert enrollment.consent_ip is None
    assert enrollment.acknowledgements == ["efl", "tos", "yrac", "rescission"]
    assert enrollment.plan.code == "SAVER12"
    assert enrollment.rescission_deadline is not None
    customer = enrollment.customer
    assert customer.language == "es" and customer.ssn_last4 == "6789"
    assert customer.email == "maria.lopez@example.com"
    assert customer.billing_address_line1 == "100 Main St"
    request = BillingRequest.objects.get()
    assert (request.kind, request.subject_id) == ("create_prospect", enrollment.pk)
    # My Account login, password unusable until the emailed one-time link is used.
    user = customer.user
    assert user.username == "maria.lopez@example.com" and user.kind == "customer"
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].to == ["maria.lopez@example.com"]
    link = next(line for line in body.splitlines() if "/myaccount/set-password/" in line)
    assert link.startswith("http://testserver/myaccount/set-password/")
    # The link works once: Django's token generator accepts it for this user.
    from django.contrib.auth.tokens import default_token_generator

    uidb64, token = link.rstrip("/").split("/")[-2:]
    assert default_token_generator.check_token(user, token)
    draft.refresh_from_db()
    assert draft.secret == "" and draft.step == "done"
    done = agent_client.get(reverse("enrollments:quick_page", kwargs={"token": draft.token}))
    assert "Enroll another account for this customer" in done.content.decode()


@pytest.mark.django_db
def test_double_submit_makes_one_enrollment(
    agent_client, catalogue, django_capture_on_commit_callbacks
):
    draft = run_to_review(agent_client)
    with django_capture_on_commit_callbacks(execute=True):
        first = submit(agent_client, draft)
    with django_capture_on_commit_callbacks(execute=True):
        second = submit(agent_client, draft)
    assert first.status_code == 303 and second.status_code == 303
    assert Enrollment.objects.count() == 1
    assert BillingRequest.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_stale_token_is_refused(agent_client, catalogue):
    draft = run_to_review(agent_client)
    resp = step(
        agent_client,
        draft,
        "review",
        {
            "idempotency_token": "nope",
            "ack_efl": "on",
            "ack_tos": "on",
            "ack_yrac": "on",
            "ack_rescission": "on",
        },
    )
    assert resp.status_code == 422
    assert "This form is out of date." in resp.content.decode()
    assert Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_acknowledgements_required(agent_client, catalogue):
    draft = run_to_review(agent_client)
    resp = step(
        agent_client, draft, "review", {"idempotency_token": str(draft.token), "ack_efl": "on"}
    )
    assert resp.status_code == 422
    assert resp.content.decode().count("Confirm this statement to continue.") == 3
    assert Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_bad_details_show_messages_next_to_fields(agent_client, catalogue):
    _, draft = start(agent_client)
    step(agent_client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"})
    step(agent_client, draft, "products", {"plan": "SAVER12"})
    step(agent_client, draft, "customer", {"customer": "new"})
    resp = step(
        agent_client,
        draft,
        "details",
        details(
            esiid=TNMP_ESIID,
            phone="12",
            ssn="",
            date_of_birth="",
            requested_start_date=(earliest_start_date("switch") - timedelta(days=1)).isoformat(),
            billing_same="",
        ),
    )
    assert resp.status_code == 422
    body = resp.content.decode()
    assert "This ESIID does not belong to CenterPoint (expected it to start with 1008901)." in body
    assert "Enter a 10-digit phone number." in body
    assert "Enter the SSN and date of birth, or choose an alternative below." in body
    assert "The earliest start date for a switch is" in body
    assert body.count("Required when billing goes to another address.") == 4
    assert 'id="id_phone_error"' in body
    draft.refresh_from_db()
    assert draft.step == "details" and "esiid" not in draft.data


@pytest.mark.django_db
def test_esiid_with_open_enrollment_is_refused(agent_client, catalogue):
    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    _, second = start(agent_client)
    step(agent_client, second, "options", {"utility": "centerpoint", "consent_method": "phone"})
    step(agent_client, second, "products", {"plan": "SAVER12"})
    step(agent_client, second, "customer", {"customer": "new"})
    resp = step(agent_client, second, "details", details(email="other@example.com"))
    assert resp.status_code == 422
    assert "This ESIID already has a pending or active enrollment." in resp.content.decode()
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_deposit_alternative_instead_of_ssn(agent_client, catalogue):
    draft = run_to_review(agent_client, ssn="", date_of_birth="", deposit_alternative="deposit")
    submit(agent_client, draft)
    enrollment = Enrollment.objects.get()
    assert enrollment.deposit_alternative == "deposit"
    assert enrollment.customer.ssn_last4 == ""


@pytest.mark.django_db
def test_enroll_another_account_for_this_customer(
    agent_client, catalogue, django_capture_on_commit_callbacks
):
    draft = run_to_review(agent_client)
    with django_capture_on_commit_callbacks(execute=True):
        submit(agent_client, draft)
    first = Enrollment.objects.get()
    hx = agent_client.post(
        reverse("enrollments:quick_another", kwargs={"token": draft.token}), **HX
    )
    assert hx.status_code == 200
    assert "Enrolling another account for existing customer" in hx.content.decode()
    htmx_draft = EnrollmentDraft.objects.order_by("-pk").first()
    assert hx["HX-Push-Url"] == f"/enrollments/quick/{htmx_draft.token}/"
    resp = agent_client.post(reverse("enrollments:quick_another", kwargs={"token": draft.token}))
    assert resp.status_code == 303
    again = EnrollmentDraft.objects.order_by("-pk").first()
    assert again.customer == first.customer and again.step == "search"
    page = agent_client.get(resp["Location"])
    assert "Enrolling another account for existing customer" in page.content.decode()
    resp = step(
        agent_client, again, "search", {"zip_code": "77002", "customer_type": "residential"}
    )
    step(agent_client, again, "options", {"utility": "centerpoint", "consent_method": "phone"})
    step(agent_client, again, "products", {"plan": "FIXED24"})
    again.refresh_from_db()
    assert again.step == "details"  # no New/Existing step: the customer is attached
    premise = {
        k: details()[k]
        for k in ("esiid", "address_line1", "city", "enrollment_type", "requested_start_date")
    }
    premise["esiid"] = "1008901000000000000002"
    resp = step(agent_client, again, "details", premise)
    assert resp.status_code == 303, resp.content.decode()[:2000]
    with django_capture_on_commit_callbacks(execute=True):
        submit(agent_client, again)
    assert Enrollment.objects.count() == 2
    second = Enrollment.objects.exclude(pk=first.pk).get()
    assert second.customer == first.customer
    assert Customer.objects.count() == 1
    assert len(mail.outbox) == 1  # the login existed already


@pytest.mark.django_db
def test_existing_customer_search_and_select(agent_client, catalogue):
    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    customer = Customer.objects.get()
    _, d2 = start(agent_client)
    step(agent_client, d2, "options", {"utility": "centerpoint", "consent_method": "phone"})
    step(agent_client, d2, "products", {"plan": "SAVER12"})
    page = reverse("enrollments:quick_page", kwargs={"token": d2.token})
    for q in ("Lopez", "maria lopez", "713 555 0142", "maria.lopez@example.com", CNP_ESIID):
        resp = agent_client.get(page, {"step": "customer", "q": q}, **HX)
        body = resp.content.decode()
        assert f'name="customer" value="{customer.pk}"' in body, q
        assert "<html" not in body
    resp = agent_client.get(page, {"step": "customer", "q": "nobody-here"})
    assert "No customer matches" in resp.content.decode()
    step(agent_client, d2, "customer", {"customer": str(customer.pk)})
    d2.refresh_from_db()
    assert d2.customer == customer and d2.step == "details"


@pytest.mark.django_db
def test_another_agents_draft_is_404(client, agent_client, catalogue):
    from enrollments.tests.factories import make_staff

    _, draft = start(agent_client)
    other = make_staff("agent2", "Agent")
    client.force_login(other)
    assert (
        client.get(reverse("enrollments:quick_page", kwargs={"token": draft.token})).status_code
        == 404
    )
    assert step(client, draft, "options", {"utility": "centerpoint"}).status_code == 404


@pytest.mark.django_db
def test_change_enrollment_dates_on_review(agent_client, catalogue):
    draft = run_to_review(agent_client)
    new = earliest_start_date("move_in")
    resp = step(
        agent_client,
        draft,
        "dates",
        {"enrollment_type": "move_in", "requested_start_date": new.isoformat()},
        htmx=True,
    )
    assert resp.status_code == 200
    draft.refresh_from_db()
    assert draft.step == "review"
    assert draft.data["enrollment_type"] == "move_in"
    assert draft.data["requested_start_date"] == new.isoformat()
    resp = step(
        agent_client,
        draft,
        "dates",
        {"enrollment_type": "switch", "requested_start_date": "2000-01-01"},
        htmx=True,
    )
    assert "The earliest start date for a switch is" in resp.content.decode()


@pytest.mark.django_db
def test_signed_contract_consent_needs_a_file(agent_client, catalogue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, draft = start(agent_client)
    step(
        agent_client,
        draft,
        "options",
        {"utility": "centerpoint", "consent_method": "signed_contract"},
    )
    step(agent_client, draft, "products", {"plan": "SAVER12"})
    step(agent_client, draft, "customer", {"customer": "new"})
    step(agent_client, draft, "details", details())
    acks = {
        "idempotency_token": str(draft.token),
        "ack_efl": "on",
        "ack_tos": "on",
        "ack_yrac": "on",
        "ack_rescission": "on",
    }
    resp = step(agent_client, draft, "review", acks)
    assert resp.status_code == 422 and "Upload the signed contract." in resp.content.decode()
    bad = SimpleUploadedFile("c.txt", b"hello", content_type="text/plain")
    resp = step(agent_client, draft, "review", {**acks, "signed_contract": bad})
    assert "Upload a PDF, PNG or JPEG file." in resp.content.decode()
    pdf = SimpleUploadedFile("contract.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    resp = step(agent_client, draft, "review", {**acks, "signed_contract": pdf})
    assert resp.status_code == 303
    enrollment = Enrollment.objects.get()
    assert enrollment.consent_method.code == "signed_contract"
    assert enrollment.signed_contract.name.endswith(".pdf")
    assert enrollment.signed_contract.read() == b"%PDF-1.4 signed"


@pytest.mark.django_db
def test_going_back_to_details_keeps_what_was_typed(agent_client, catalogue):
    draft = run_to_review(agent_client)
    page = agent_client.get(
        reverse("enrollments:quick_page", kwargs={"token": draft.token}), {"step": "details"}
    )
    body = page.content.decode()
    assert 'value="Maria"' in body and f'value="{CNP_ESIID}"' in body
    assert "123456789" not in body  # the SSN is never shown back
    assert "SSN and date of birth are on file" in body
    # Re-submit with a corrected city and no SSN typed: the SSN on file is kept.
    resp = step(agent_client, draft, "details", details(city="Katy", ssn="", date_of_birth=""))
    assert resp.status_code == 303, resp.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.data["city"] == "Katy" and draft.step == "review"
    from enrollments.flow import draft_secret

    assert draft_secret(draft)["ssn"] == "123456789"


@pytest.mark.django_db
def test_products_warn_when_tdu_charges_are_missing(agent_client, catalogue):
    _, draft = start(agent_client, zip_code="77494")
    resp = step(
        agent_client, draft, "options", {"utility": "tnmp", "consent_method": "phone"}, htmx=True
    )
    assert "TNMP's TDU delivery charges are not on file" in resp.content.decode()


@pytest.mark.django_db
def test_unfinished_drafts_listed_for_their_agent_only(client, agent_client, catalogue):
    from enrollments.tests.factories import make_staff

    _, draft = start(agent_client)
    step(agent_client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"})
    body = agent_client.get(reverse("enrollments:quick_start")).content.decode()
    assert "Your unfinished enrollments" in body
    assert f"/enrollments/quick/{draft.token}/" in body
    client.force_login(make_staff("agent3", "Agent"))
    body = client.get(reverse("enrollments:quick_start")).content.decode()
    assert "Your unfinished enrollments" not in body and str(draft.token) not in body
