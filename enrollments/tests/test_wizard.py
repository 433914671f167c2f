"""Signup Wizard (public), rescission, drafts purge, catalogue screens."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingRequest
from enrollments.flow import drafts_purge
from enrollments.models import Enrollment, EnrollmentDraft, Plan, PromoCode
from enrollments.services import enrollment_rescind
from enrollments.tests.test_quick import details
from opsadmin.errors import ApplicationError
from opsadmin.models import SystemSetup, User

HX = {"HTTP_HX_REQUEST": "true"}


def wstep(client, draft, name, data, **kw):
    url = reverse("enrollments:signup_step", kwargs={"token": draft.token, "step": name})
    return client.post(url, data, **kw)


def wizard_to_review(client, **over) -> EnrollmentDraft:
    client.get(reverse("enrollments:signup_start"), {"affiliate": "PARTNER-7"})
    resp = client.post(
        reverse("enrollments:signup_start"), {"zip_code": "77002", "customer_type": "residential"}
    )
    assert resp.status_code == 303
    draft = EnrollmentDraft.objects.order_by("-pk").first()
    assert draft.channel == "wizard" and draft.data["affiliate_code"] == "PARTNER-7"
    assert wstep(client, draft, "options", {"utility": "centerpoint"}).status_code == 303
    assert wstep(client, draft, "products", {"plan": "FIXED24"}).status_code == 303
    data = details(password1="Corn-Flakes-42!", password2="Corn-Flakes-42!", **over)
    resp = wstep(client, draft, "details", data)
    assert resp.status_code == 303, resp.content.decode()[:3000]
    draft.refresh_from_db()
    return draft


@pytest.mark.django_db
def test_wizard_is_public_web_plans_only_no_consent_choice(client, catalogue):
    resp = client.get(reverse("enrollments:signup_start"))
    assert resp.status_code == 200
    client.post(
        reverse("enrollments:signup_start"), {"zip_code": "77002", "customer_type": "residential"}
    )
    draft = EnrollmentDraft.objects.get()
    resp = wstep(client, draft, "options", {"utility": "centerpoint"}, **HX)
    body = resp.content.decode()
    assert "Method of consent" not in body
    assert "Saver 12" in body and "Commercial Fixed 36" not in body
    assert wstep(client, draft, "products", {"plan": "COMM36"}).status_code == 422
    # No New/Existing customer step on the web.
    wstep(client, draft, "products", {"plan": "SAVER12"})
    draft.refresh_from_db()
    assert draft.step == "details"


@pytest.mark.django_db
def test_wizard_full_flow_creates_login_with_chosen_password(
    client, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        draft = wizard_to_review(client)
    # The resume link was emailed once the customer gave an email address.
    assert len(mail.outbox) == 1
    assert f"/enrollments/signup/{draft.token}/" in mail.outbox[0].body
    assert "72 hours" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        resp = wstep(
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
            HTTP_USER_AGENT="KeyboardBrowser/1.0",
            REMOTE_ADDR="203.0.113.9",
        )
    assert resp.status_code == 303
    enrollment = Enrollment.objects.get()
    assert enrollment.channel == "wizard"
    assert enrollment.consent_method.code == "web"
    assert enrollment.consent_ip == "203.0.113.9"
    assert enrollment.consent_user_agent == "KeyboardBrowser/1.0"
    assert enrollment.consent_agent is None
    assert enrollment.affiliate_code == "PARTNER-7"
    user = User.objects.get(username="maria.lopez@example.com")
    assert user.kind == "customer" and user.check_password("Corn-Flakes-42!")
    assert enrollment.customer.user == user
    assert len(mail.outbox) == 1  # no set-password email: the customer chose a password
    assert BillingRequest.objects.filter(kind="create_prospect").count() == 1
    done = client.get(reverse("enrollments:signup_page", kwargs={"token": draft.token}))
    assert "Your My Account login is ready" in done.content.decode()


@pytest.mark.django_db
def test_wizard_password_rules_and_taken_email(client, catalogue):
    User.objects.create_user(username="taken@example.com", kind="customer")
    client.post(
        reverse("enrollments:signup_start"), {"zip_code": "77002", "customer_type": "residential"}
    )
    draft = EnrollmentDraft.objects.get()
    wstep(client, draft, "options", {"utility": "centerpoint"})
    wstep(client, draft, "products", {"plan": "SAVER12"})
    resp = wstep(
        client,
        draft,
        "details",
        details(email="taken@example.com", password1="short", password2="other"),
    )
    body = resp.content.decode()
    assert resp.status_code == 422
    assert "This email already has a My Account login." in body
    assert "The passwords don&#x27;t match." in body
    resp = wstep(client, draft, "details", details(password1="password12", password2="password12"))
    assert "This password is too common." in resp.content.decode()


@pytest.mark.django_db
def test_drafts_purged_after_system_setup_hours(catalogue):
    setup = SystemSetup.load()
    setup.abandoned_signup_hours = 5
    setup.save()
    old = EnrollmentDraft.objects.create(channel="wizard", data={"zip_code": "77002"})
    fresh = EnrollmentDraft.objects.create(channel="wizard")
    EnrollmentDraft.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(hours=5, minutes=1)
    )
    EnrollmentDraft.objects.filter(pk=fresh.pk).update(
        updated_at=timezone.now() - timedelta(hours=4, minutes=59)
    )
    assert drafts_purge() == 1
    assert list(EnrollmentDraft.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_purge_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["enrollments-drafts-purge"]
    assert entry["task"] == "enrollments.drafts_purge"


@pytest.mark.django_db
def test_rescission_within_window_cancels_with_no_etf(
    agent_client, agent, catalogue, django_capture_on_commit_callbacks
):
    from enrollments.tests.test_quick import run_to_review, submit

    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    enrollment = Enrollment.objects.get()
    resp = agent_client.post(reverse("enrollments:rescind", kwargs={"pk": enrollment.pk}))
    assert resp.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.RESCINDED
    cancel = BillingRequest.objects.get(kind="cancel")
    assert cancel.subject_id == enrollment.pk
    assert cancel.payload["etf"] == "0.00" and cancel.payload["reason"] == "rescission"
    assert enrollment.events.last().to_status == "rescinded"


@pytest.mark.django_db
def test_rescission_after_window_refused(agent_client, catalogue):
    from enrollments.tests.test_quick import run_to_review, submit

    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    enrollment = Enrollment.objects.get()
    Enrollment.objects.filter(pk=enrollment.pk).update(
        rescission_deadline=timezone.localdate() - timedelta(days=1)
    )
    enrollment.refresh_from_db()
    with pytest.raises(ApplicationError, match="The rescission window has closed."):
        enrollment_rescind(enrollment=enrollment)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUBMITTED
    assert not BillingRequest.objects.filter(kind="cancel").exists()


@pytest.mark.django_db
def test_catalogue_agent_views_ops_manages(client, agent, ops, catalogue):
    client.force_login(agent)
    assert client.get(reverse("enrollments:catalogue")).status_code == 200
    for kind in ("plans", "tdu-charges", "promo-codes", "referral-sources", "consent-methods"):
        assert client.get(reverse("enrollments:catalogue_list", args=[kind])).status_code == 200
    assert client.get(reverse("enrollments:catalogue_new", args=["promo-codes"])).status_code == 403
    plan = Plan.objects.get(code="SAVER12")
    assert (
        client.post(
            reverse("enrollments:catalogue_edit", args=["plans", plan.pk]), {"name": "X"}
        ).status_code
        == 403
    )
    plan.refresh_from_db()
    assert plan.name == "Saver 12"

    client.force_login(ops)
    url = reverse("enrollments:catalogue_new", args=["promo-codes"])
    resp = client.post(
        url,
        {
            "code": "spring10",
            "valid_from": "2026-03-01",
            "valid_until": "2026-02-01",
            "channels": ["quick"],
            "benefit": "cents_off",
            "amount": "1.0",
            "active": "on",
        },
    )
    assert resp.status_code == 422
    assert "The end date is before the start date." in resp.content.decode()
    resp = client.post(
        url,
        {
            "code": "spring10",
            "valid_from": "2026-03-01",
            "valid_until": "2026-05-31",
            "channels": ["quick", "wizard"],
            "benefit": "cents_off",
            "amount": "1.0",
            "active": "on",
        },
    )
    assert resp.status_code == 302
    promo = PromoCode.objects.get(code="SPRING10")
    assert promo.channels == ["quick", "wizard"] and promo.amount == Decimal("1.0")
    edit = client.get(reverse("enrollments:catalogue_edit", args=["plans", plan.pk]))
    body = edit.content.decode()
    # Average prices per utility on the plan screen (CenterPoint: 21.3 / 19.8 / 19.1).
    assert "21.3¢" in body and "19.8¢" in body and "19.1¢" in body
    resp = client.post(
        reverse("enrollments:catalogue_edit", args=["tdu-charges", catalogue["cnp"].tdu_charge.pk]),
        {"utility": catalogue["cnp"].pk, "monthly_charge": "4.50", "per_kwh_cents": "5.6"},
    )
    assert resp.status_code == 302
    catalogue["cnp"].tdu_charge.refresh_from_db()
    assert catalogue["cnp"].tdu_charge.monthly_charge == Decimal("4.50")


@pytest.mark.django_db
def test_consent_methods_seeded():
    from enrollments.models import ConsentMethod

    assert list(
        ConsentMethod.objects.order_by("code").values_list("code", "name", "requires_document")
    ) == [
        ("phone", "Phone", False),
        ("signed_contract", "Signed Contract", True),
        ("web", "Web", False),
    ]


@pytest.mark.django_db
def test_proof_of_authorization_partial(agent_client, agent, catalogue, rf):
    from django.template.loader import render_to_string

    from enrollments.tests.test_quick import run_to_review, submit

    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    enrollment = Enrollment.objects.get()
    request = rf.get("/enrollments/1/")
    request.user = agent
    html = render_to_string(
        "enrollments/_proof_of_authorization.html", {"enrollment": enrollment}, request=request
    )
    assert "<dd>Phone</dd>" in html and "<dd>agent1</dd>" in html
    assert "EFL, TOS, YRAC, RESCISSION" in html
    assert "Cancel within rescission window" in html
