"""The step machine of Quick Enrollment and the Signup Wizard: one URL per step (GET renders
it from the draft, F5 and Back work), the SSN kept across a validation error without being
shown back (#23 bug 1), the acknowledgement summary, and the submit pipeline (#22)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import translation

from enrollments import flow as flows
from enrollments.models import Enrollment, EnrollmentDraft
from enrollments.services import SUBMIT_PIPELINE, EnrollmentInput, enrollment_submit
from enrollments.tests.factories import CNP_ESIID, TNMP_ESIID
from enrollments.tests.test_quick import HX, details, run_to_review, start, step, submit
from opsadmin.errors import ApplicationError

SSN_RE = re.compile(r"(?<![0-9a-f-])123-?45-?6789")


def step_url(draft, name, ns="quick"):
    return reverse(f"enrollments:{ns}_step", kwargs={"token": draft.token, "step": name})


def to_details(client) -> EnrollmentDraft:
    _, draft = start(client)
    step(client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"})
    step(client, draft, "products", {"plan": "SAVER12"})
    step(client, draft, "customer", {"customer": "new"})
    draft.refresh_from_db()
    assert draft.step == "details"
    return draft


def raw_secret(draft) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM enrollments_enrollmentdraft WHERE id = %s", [draft.pk])
        return cursor.fetchone()[0]


# --- #23 bug 1: the SSN survives a validation error, never shown back ---------------------


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_ssn_kept_across_a_validation_error_and_never_shown(agent_client, catalogue, htmx):
    draft = to_details(agent_client)
    typed = details(esiid=TNMP_ESIID, city="Katy", drivers_license="TX12345678")
    resp = step(agent_client, draft, "details", typed, htmx)
    assert resp.status_code == (200 if htmx else 422)
    body = resp.content.decode()
    assert "This ESIID does not belong to CenterPoint" in body
    # the SSN, date of birth and licence are not in the page; the page says they are kept
    assert not SSN_RE.search(body)
    assert "1980-04-02" not in body and "TX12345678" not in body
    assert "SSN on file ending 6789 — leave blank to keep it." in body
    assert "Date of birth on file — leave blank to keep it." in body
    assert "Driver&#x27;s license on file ending 78 — leave blank to keep it." in body
    # what was typed elsewhere is shown again
    assert 'value="Katy"' in body and f'value="{TNMP_ESIID}"' in body
    draft.refresh_from_db()
    # kept encrypted in the draft (the column holds ciphertext only), not as an answer
    assert flows.draft_secret(draft) == {
        "ssn": "123456789",
        "date_of_birth": "1980-04-02",
        "drivers_license": "TX12345678",
    }
    stored = raw_secret(draft)
    assert stored.startswith("enc1:") and "123456789" not in stored
    assert draft.step == "details" and "esiid" not in draft.data
    assert "ssn" not in str(draft.data) and "123456789" not in str(draft.data)

    # The agent fixes the ESIID only: SSN, date of birth and licence fields stay blank.
    fixed = details(city="Katy", ssn="", date_of_birth="", esiid=CNP_ESIID)
    resp = step(agent_client, draft, "details", fixed, htmx)
    assert resp.status_code == (200 if htmx else 303), resp.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.step == "review" and flows.TYPED_DETAILS not in draft.data
    review = agent_client.get(step_url(draft, "review")).content.decode()
    assert "SSN ending 6789" in review and not SSN_RE.search(review)
    submit(agent_client, draft)
    customer = Enrollment.objects.get().customer
    assert customer.ssn_last4 == "6789" and customer.ssn == "123456789"
    assert customer.date_of_birth == "1980-04-02" and customer.drivers_license == "TX12345678"


@pytest.mark.django_db
def test_a_bad_ssn_is_not_kept_and_an_earlier_one_stays(agent_client, catalogue):
    draft = to_details(agent_client)
    step(agent_client, draft, "details", details(esiid=TNMP_ESIID))
    resp = step(agent_client, draft, "details", details(esiid=TNMP_ESIID, ssn="000-12-3456"))
    assert resp.status_code == 422
    body = resp.content.decode()
    assert "Enter a 9-digit Social Security Number." in body and "000-12-3456" not in body
    draft.refresh_from_db()
    assert flows.draft_secret(draft)["ssn"] == "123456789"


@pytest.mark.django_db
def test_f5_after_an_error_shows_what_was_typed(agent_client, catalogue):
    draft = to_details(agent_client)
    step(agent_client, draft, "details", details(esiid=TNMP_ESIID, first_name="Rosa"))
    page = agent_client.get(step_url(draft, "details"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'value="Rosa"' in body and f'value="{TNMP_ESIID}"' in body
    assert "SSN on file ending 6789" in body and not SSN_RE.search(body)


@pytest.mark.django_db
def test_wizard_keeps_ssn_across_an_error(client, catalogue):
    client.post(
        reverse("enrollments:signup_start"), {"zip_code": "77002", "customer_type": "residential"}
    )
    draft = EnrollmentDraft.objects.get()
    client.post(step_url(draft, "options", "signup"), {"utility": "centerpoint"})
    client.post(step_url(draft, "products", "signup"), {"plan": "SAVER12"})
    bad = details(esiid="12", password1="Corn-Flakes-42!", password2="Corn-Flakes-42!")
    resp = client.post(step_url(draft, "details", "signup"), bad)
    assert resp.status_code == 422
    body = resp.content.decode()
    assert "An ESIID is 17 or 22 digits and starts with 10." in body
    assert "SSN on file ending 6789" in body and not SSN_RE.search(body)
    assert "Corn-Flakes-42!" not in body and "password_hash" not in str(draft.data)
    good = {**bad, "esiid": CNP_ESIID, "ssn": "", "date_of_birth": ""}
    assert client.post(step_url(draft, "details", "signup"), good).status_code == 303
    draft.refresh_from_db()
    assert draft.step == "review" and flows.draft_secret(draft)["ssn"] == "123456789"


# --- one URL per step ---------------------------------------------------------------------


@pytest.mark.django_db
def test_each_step_has_its_own_url_and_renders_from_the_draft(agent_client, catalogue):
    draft = run_to_review(agent_client)
    expected = {
        "search": "Product selection",
        "options": "Utility, referral and consent",
        "products": "Available products for CenterPoint",
        "customer": "New or existing customer",
        "details": "Customer and premise",
        "review": "Acknowledgement and submission",
    }
    for name, heading in expected.items():
        resp = agent_client.get(step_url(draft, name))
        assert resp.status_code == 200, name
        body = resp.content.decode()
        assert heading in body, name
        assert 'aria-current="step"' in body
        # the step's own link in the step list is not a link: it is the current one
        assert f'href="{step_url(draft, name)}">' not in body.split("</nav>")[0]
    details_page = agent_client.get(step_url(draft, "details")).content.decode()
    assert 'value="Maria"' in details_page and 'value="M1"' in details_page
    # with htmx only the flow partial comes back
    partial = agent_client.get(step_url(draft, "details"), **HX).content.decode()
    assert partial.lstrip().startswith('<div id="flow"') and "<html" not in partial


@pytest.mark.django_db
def test_a_step_not_reached_yet_redirects_to_the_furthest_allowed(agent_client, catalogue):
    _, draft = start(agent_client)
    resp = agent_client.get(step_url(draft, "review"))
    assert resp.status_code == 302 and resp["Location"] == step_url(draft, "options")
    step(agent_client, draft, "options", {"utility": "centerpoint", "consent_method": "phone"})
    resp = agent_client.get(step_url(draft, "details"))
    assert resp["Location"] == step_url(draft, "products")
    # re-answering the zip search clears the plan and asks the utility again
    step(agent_client, draft, "products", {"plan": "SAVER12"})
    agent_client.post(
        step_url(draft, "search"), {"zip_code": "77002", "customer_type": "residential"}
    )
    draft.refresh_from_db()
    assert draft.step == "options" and "plan" not in draft.data
    assert agent_client.get(step_url(draft, "customer"))["Location"] == step_url(draft, "options")
    # an action of another step and a step that does not exist
    assert agent_client.get(step_url(draft, "dates"))["Location"] == step_url(draft, "review")
    assert agent_client.get(step_url(draft, "nope")).status_code == 404


@pytest.mark.django_db
def test_htmx_pushes_the_step_url_and_a_plain_post_redirects_to_it(agent_client, catalogue):
    resp, draft = start(agent_client, htmx=True)
    assert resp["HX-Push-Url"] == step_url(draft, "options")
    resp = step(
        agent_client,
        draft,
        "options",
        {"utility": "centerpoint", "consent_method": "phone"},
        htmx=True,
        HTTP_HX_CURRENT_URL="http://testserver" + step_url(draft, "options"),
    )
    assert resp["HX-Push-Url"] == step_url(draft, "products")
    # an error re-renders the same step: nothing pushed (Back is not doubled)
    resp = step(
        agent_client,
        draft,
        "products",
        {"plan": "NOPE"},
        htmx=True,
        HTTP_HX_CURRENT_URL="http://testserver" + step_url(draft, "products"),
    )
    assert "Choose a plan from the table." in resp.content.decode()
    assert "HX-Push-Url" not in resp
    resp = step(agent_client, draft, "products", {"plan": "SAVER12"})
    assert resp.status_code == 303 and resp["Location"] == step_url(draft, "customer")


@pytest.mark.django_db
def test_history_restore_gets_the_whole_page(agent_client, catalogue):
    draft = run_to_review(agent_client)
    resp = agent_client.get(
        step_url(draft, "details"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    body = resp.content.decode()
    assert "<html" in body and 'hx-history="false"' in body and 'value="Maria"' in body
    assert '"refreshOnHistoryMiss": true' in body


@pytest.mark.django_db
def test_submitted_draft_shows_done_at_every_step_url(agent_client, catalogue):
    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    resp = agent_client.get(step_url(draft, "details"))
    assert resp.status_code == 302 and resp["Location"] == step_url(draft, "done")
    done = agent_client.get(step_url(draft, "done")).content.decode()
    assert "Enrollment submitted" in done
    # a second POST of any step never makes a second enrollment
    step(agent_client, draft, "details", details())
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_post_to_a_step_not_reached_is_404_and_changes_nothing(agent_client, catalogue):
    _, draft = start(agent_client)
    assert step(agent_client, draft, "review", {}).status_code == 404
    assert step(agent_client, draft, "done", {}).status_code == 404
    draft.refresh_from_db()
    assert draft.step == "options"


# --- the details step and the summary -----------------------------------------------------


@pytest.mark.django_db
def test_summary_shows_everything_entered(agent_client, catalogue):
    _, draft = start(agent_client)
    step(
        agent_client,
        draft,
        "options",
        {"utility": "centerpoint", "consent_method": "phone", "referral_source": "Mailer"},
    )
    step(agent_client, draft, "products", {"plan": "SAVER12"})
    step(agent_client, draft, "customer", {"customer": "new"})
    billing = {
        "billing_same": "",
        "billing_address_line1": "PO Box 12",
        "billing_address_line2": "Unit 5",
        "billing_city": "Austin",
        "billing_state": "tx",
        "billing_zip": "78701",
    }
    resp = step(agent_client, draft, "details", details(meter_number="MTR-998", **billing))
    assert resp.status_code == 303
    body = agent_client.get(step_url(draft, "review")).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    assert "How did you hear about us? Mailer" in text
    assert "Meter Number MTR-998" in text
    assert "Billing address PO Box 12, Unit 5, Austin TX 78701" in text
    assert "SSN ending 6789 · date of birth on file" in text


@pytest.mark.django_db
def test_billing_same_ignores_the_billing_lines(agent_client, catalogue):
    draft = to_details(agent_client)
    page = agent_client.get(step_url(draft, "details")).content.decode()
    # the billing lines are in the page (no script needed); CSS hides them while ticked
    assert 'class="billing-address"' in page and 'id="id_billing_address_line1"' in page
    assert 'class="details-grid"' in page
    typed = details(billing_same="on", billing_address_line1="Ignored 1", billing_zip="bad")
    assert step(agent_client, draft, "details", typed).status_code == 303
    body = agent_client.get(step_url(draft, "review")).content.decode()
    assert "Same as the service address" in body and "Ignored 1" not in body
    submit(agent_client, draft)
    customer = Enrollment.objects.get().customer
    assert customer.billing_address_line1 == "100 Main St" and customer.billing_zip == "77002"


# --- the step table and the submit pipeline (#22) -----------------------------------------


@pytest.mark.django_db
def test_one_step_table_for_both_channels():
    assert list(flows.STEPS) == [
        "search",
        "options",
        "products",
        "customer",
        "details",
        "review",
        "done",
        "dates",
    ]
    quick = EnrollmentDraft(channel="quick", step="search")
    wizard = EnrollmentDraft(channel="wizard", step="search")
    assert flows.draft_steps(quick) == [
        "search",
        "options",
        "products",
        "customer",
        "details",
        "review",
        "done",
    ]
    assert "customer" not in flows.draft_steps(wizard)
    attached = EnrollmentDraft(channel="quick", step="search", data={"attached": True})
    assert "customer" not in flows.draft_steps(attached)
    for spec in flows.STEPS.values():
        assert spec.template.startswith("enrollments/steps/")
    reached = EnrollmentDraft(
        channel="wizard", step="details", data={"zip_code": "77002", "utility": "cnp"}
    )
    assert flows.STEPS["products"].can_enter(reached)
    assert not flows.STEPS["details"].can_enter(reached)  # no plan yet
    assert flows.draft_furthest_step(reached) == "products"


def test_submit_is_a_pipeline_of_named_steps():
    assert [f.__name__ for f in SUBMIT_PIPELINE] == [
        "_submit_validate",
        "_submit_customer",
        "_submit_premise",
        "_submit_enrollment",
        "_submit_proof",
        "_submit_login",
        "_submit_outbox",
    ]


def _input(**over) -> EnrollmentInput:
    data = {
        "zip_code": "77002",
        "utility_code": "centerpoint",
        "customer_type_code": "residential",
        "plan_code": "SAVER12",
        "first_name": "Ana",
        "last_name": "Diaz",
        "email": "ana@example.com",
        "esiid": CNP_ESIID,
        "address_line1": "1 Elm",
        "city": "Houston",
    }
    data.update(over)
    return EnrollmentInput(**data)


@pytest.mark.django_db
def test_a_refused_submission_writes_nothing_and_speaks_spanish(catalogue):
    from billing.models import BillingRequest
    from enrollments.models import Customer

    with pytest.raises(ApplicationError) as english:
        enrollment_submit(data=_input(plan_code="NOPE"), channel="wizard")
    assert english.value.message == "That plan is not available here."
    with translation.override("es"), pytest.raises(ApplicationError) as spanish:
        enrollment_submit(data=_input(esiid="12"), channel="wizard")
    assert spanish.value.message == "Un ESIID tiene 17 o 22 dígitos y empieza con 10."
    with translation.override("es"), pytest.raises(ApplicationError) as prefix:
        enrollment_submit(data=_input(esiid=TNMP_ESIID), channel="wizard")
    assert prefix.value.message.startswith("Este ESIID no pertenece a CenterPoint")
    assert Customer.objects.count() == 0 and Enrollment.objects.count() == 0
    assert BillingRequest.objects.count() == 0


@pytest.mark.django_db
def test_pipeline_login_step_gives_the_wizard_its_chosen_password(catalogue):
    from django.contrib.auth.hashers import make_password

    from enrollments.services import Login

    enrollment = enrollment_submit(
        data=_input(),
        channel="wizard",
        login=Login(password_hash=make_password("Corn-Flakes-42!")),
    )
    user = enrollment.customer.user
    assert user.username == "ana@example.com" and user.check_password("Corn-Flakes-42!")
    # without a login the channel gives none at submission (partners: at service start)
    other = enrollment_submit(
        data=_input(esiid="1008901000000000000777", email="b@example.com"), channel="api"
    )
    assert other.customer.user is None
