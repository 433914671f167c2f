"""The Quick Enrollment / Signup Wizard flow over a server-side draft (verbs on drafts).

A draft holds what was typed so far (``data``; SSN, DOB, licence and the wizard's password
hash encrypted in ``secret``) and the step reached. Submitting turns it into an enrollment
through the one ``enrollment_submit``; the draft's token is the form's idempotency token.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from enrollments.models import Customer, Enrollment, EnrollmentDraft
from enrollments.services import (
    EnrollmentInput,
    Proof,
    customer_login_create,
    enrollment_submit,
    set_password_email_send,
)
from opsadmin.errors import ApplicationError
from opsadmin.models import SystemSetup

logger = logging.getLogger(__name__)

STEP_LABELS = {
    "search": _("Zip code"),
    "options": _("Utility and consent"),
    "products": _("Products"),
    "customer": _("New or existing customer"),
    "details": _("Customer and premise"),
    "review": _("Acknowledgement"),
    "done": _("Submitted"),
}


def draft_steps(draft: EnrollmentDraft) -> list[str]:
    steps = list(STEP_LABELS)
    # No New/Existing question on the web, nor when "Enroll another account" attached one.
    if draft.channel == Enrollment.Channel.WIZARD or draft.data.get("attached"):
        steps.remove("customer")
    return steps


def draft_next_step(draft: EnrollmentDraft, step: str) -> str:
    steps = draft_steps(draft)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def draft_secret(draft: EnrollmentDraft) -> dict:
    return json.loads(draft.secret) if draft.secret else {}


def draft_create(*, channel: str, actor=None, customer: Customer | None = None) -> EnrollmentDraft:
    return EnrollmentDraft.objects.create(
        channel=channel,
        created_by=actor if getattr(actor, "pk", None) else None,
        customer=customer,
        step="search",
    )


def draft_save_step(
    *,
    draft: EnrollmentDraft,
    step: str,
    data: dict,
    secret: dict | None = None,
    clear: tuple[str, ...] = (),
) -> EnrollmentDraft:
    """Store one step's answers and move the draft to the step after it."""
    for key in clear:
        draft.data.pop(key, None)
    draft.data.update(data)
    if secret:
        merged = draft_secret(draft)
        merged.update({k: v for k, v in secret.items() if v})
        draft.secret = json.dumps(merged)
    steps = draft_steps(draft)
    nxt = draft_next_step(draft, step)
    # Re-answering an early step never skips the steps after it that still need answers.
    if step in ("search", "options", "products") or steps.index(nxt) > steps.index(draft.step):
        draft.step = nxt
    draft.save()
    return draft


def draft_input(draft: EnrollmentDraft) -> EnrollmentInput:
    d = draft.data
    secret = draft_secret(draft)
    customer = draft.customer
    requested = d.get("requested_start_date")
    same = d.get("billing_same", True)
    if customer is not None:
        person = {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "company_name": customer.company_name,
            "email": customer.email,
            "phone": customer.phone,
        }
    else:
        person = {
            k: d.get(k, "") for k in ("first_name", "last_name", "company_name", "email", "phone")
        }
    return EnrollmentInput(
        zip_code=d["zip_code"],
        utility_code=d["utility"],
        customer_type_code=d["customer_type"],
        plan_code=d["plan"],
        esiid=d["esiid"],
        meter_number=d.get("meter_number", ""),
        address_line1=d["address_line1"],
        address_line2=d.get("address_line2", ""),
        city=d["city"],
        enrollment_type=d.get("enrollment_type", "switch"),
        requested_start_date=date.fromisoformat(requested) if requested else None,
        language=d.get("language", "en"),
        notice_preference=d.get("notice_preference", "email"),
        date_of_birth=secret.get("date_of_birth", ""),
        ssn=secret.get("ssn", ""),
        drivers_license=secret.get("drivers_license", ""),
        deposit_alternative=d.get("deposit_alternative", ""),
        critical_care=bool(d.get("critical_care")),
        billing_address_line1="" if same else d.get("billing_address_line1", ""),
        billing_address_line2="" if same else d.get("billing_address_line2", ""),
        billing_city="" if same else d.get("billing_city", ""),
        billing_state="" if same else d.get("billing_state", ""),
        billing_zip="" if same else d.get("billing_zip", ""),
        promo_code=d.get("promo_code", ""),
        referral_source=d.get("referral_source", ""),
        consent_method=d.get("consent_method", ""),
        affiliate_code=d.get("affiliate_code", ""),
        first_name=person["first_name"],
        last_name=person["last_name"],
        company_name=person["company_name"],
        email=person["email"],
        phone=person["phone"],
    )


@transaction.atomic
def draft_submit(
    *,
    draft: EnrollmentDraft,
    token: str,
    actor=None,
    ip: str | None = None,
    user_agent: str = "",
    signed_contract=None,
    acknowledgements: tuple[str, ...] = (),
    base_url: str,
) -> Enrollment:
    """Submit the draft once: a second submit of the same form returns the same enrollment.

    Agent enrollments get the customer's My Account login and a set-password email; wizard
    enrollments get the login with the password the customer chose.
    """
    locked = EnrollmentDraft.objects.select_for_update().get(pk=draft.pk)
    if token != str(locked.token):
        raise ApplicationError("This form is out of date. Reload the page.", code="stale")
    if locked.enrollment is not None:  # no query when enrollment_id is unset
        _draft_sync(draft, locked)  # submitted by a request that got here first
        return locked.enrollment
    wizard = locked.channel == Enrollment.Channel.WIZARD
    enrollment = enrollment_submit(
        data=draft_input(locked),
        channel=locked.channel,
        actor=actor,
        customer=locked.customer,
        source=locked.channel,
        idempotency_key=f"draft:{locked.token}",
        proof=Proof(
            agent=None if wizard else actor,
            ip=ip if wizard else None,
            user_agent=user_agent if wizard else "",
            signed_contract=signed_contract,
            acknowledgements=tuple(acknowledgements),
        ),
    )
    customer = enrollment.customer
    if wizard:
        customer_login_create(
            customer=customer, password_hash=draft_secret(locked).get("password_hash", "")
        )
    else:
        user, created = customer_login_create(customer=customer)
        if created:
            set_password_email_send(user=user, base_url=base_url, language=customer.language)
    locked.enrollment = enrollment
    locked.step = "done"
    locked.secret = ""  # the enrollment holds what it needs (SSN encrypted; last 4 kept)
    locked.save()
    _draft_sync(draft, locked)
    return enrollment


def _draft_sync(draft: EnrollmentDraft, locked: EnrollmentDraft) -> None:
    """The caller's draft says what the locked row holds (no re-read: ``locked`` is it)."""
    for name in ("enrollment", "step", "secret", "data", "updated_at"):
        setattr(draft, name, getattr(locked, name))


def draft_resume_email_send(*, draft: EnrollmentDraft, link: str) -> None:
    """Email a half-finished signup its resume link, once (kept for System Setup's hours)."""
    if draft.resume_sent_at or not draft.email:
        return
    hours = SystemSetup.load().abandoned_signup_hours
    EnrollmentDraft.objects.filter(pk=draft.pk).update(resume_sent_at=timezone.now())
    email = draft.email
    # In the language the visitor was browsing in (the draft has no customer yet).
    language = translation.get_language() or "en"

    def send() -> None:
        with translation.override(language):
            send_mail(
                gettext("Finish your signup"),
                gettext("You can finish your signup here within %(hours)s hours:")
                % {"hours": hours}
                + f"\n{link}\n",
                None,
                [email],
            )

    transaction.on_commit(send)


def drafts_purge(*, now=None) -> int:
    """Delete drafts untouched for longer than System Setup's abandoned-signup hours."""
    hours = SystemSetup.load().abandoned_signup_hours
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    deleted, _rows = EnrollmentDraft.objects.filter(updated_at__lt=cutoff).delete()
    if deleted:
        logger.info("enrollments.drafts_purged", extra={"count": deleted})
    return deleted
