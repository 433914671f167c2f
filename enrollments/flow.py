"""The Quick Enrollment / Signup Wizard flow over a server-side draft (verbs on drafts).

A draft holds what was typed so far (``data``; SSN, DOB, licence and the wizard's password
hash encrypted in ``secret``) and the step reached. Submitting turns it into an enrollment
through the one ``enrollment_submit``; the draft's token is the form's idempotency token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from enrollments.forms import (
    CustomerChoiceForm,
    DatesForm,
    DetailsForm,
    OptionsForm,
    ProductForm,
    ReviewForm,
    SearchForm,
)
from enrollments.models import ConsentMethod, Customer, Enrollment, EnrollmentDraft
from enrollments.services import (
    EnrollmentInput,
    Login,
    Proof,
    enrollment_submit,
    plans_available,
)
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, SystemSetup, Utility

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
    """The steps of this draft's path, in order (the step table's steps that apply)."""
    return [s.name for s in STEPS.values() if s.in_path and s.applies(draft)]


def draft_next_step(draft: EnrollmentDraft, step: str) -> str:
    steps = draft_steps(draft)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def draft_furthest_step(draft: EnrollmentDraft) -> str:
    """The furthest step this draft may show now (where a step URL not yet reachable sends
    the person): the last step of its path the step table lets it enter."""
    if draft.enrollment_id:
        return "done"
    allowed = [name for name in draft_steps(draft) if STEPS[name].can_enter(draft)]
    return allowed[-1] if allowed else "search"


# --- the step machine ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepRequest:
    """Who is answering a step and from where (only the submit needs it)."""

    actor: object = None
    ip: str | None = None
    user_agent: str = ""
    base_url: str = "/"
    affiliate: str = ""  # the wizard's affiliate / campaign code, already checked
    resume_link: str = ""  # the wizard's "finish your signup" link


class Step:
    """One step of Quick Enrollment and the Signup Wizard.

    ``name`` is its URL segment; ``template`` the fragment that renders it; ``form`` builds
    its form from the draft; ``can_enter`` says whether the draft may show it (the answers
    before it are in and the draft has reached it); ``save`` stores a valid form's answers
    and moves the draft on. ``needs`` are the draft's data keys the step builds on.
    """

    name: str = ""
    template: str = ""
    needs: tuple[str, ...] = ()
    in_path = True  # False: an action on another step (changing the dates on the review)
    form_key = ""  # the context name of its (bound) form
    shown_after_error = ""  # the step a form with errors re-renders (default: this one)
    saved_message: str | Promise | None = None  # a flash message after a save
    show_form_after_save = False  # the next step shows this form again (no second read)

    @property
    def label(self):
        return STEP_LABELS.get(self.name, self.name)

    def applies(self, draft: EnrollmentDraft) -> bool:
        """Whether this draft's path has the step at all."""
        return True

    def can_enter(self, draft: EnrollmentDraft) -> bool:
        if not all(draft.data.get(key) for key in self.needs):
            return False
        steps = draft_steps(draft)
        if self.name not in steps or draft.step not in steps:
            return False
        return steps.index(self.name) <= steps.index(draft.step)

    def form(self, draft: EnrollmentDraft, data=None, files=None) -> forms.Form | None:
        return None

    def save(self, draft: EnrollmentDraft, form, request: StepRequest) -> None:
        raise NotImplementedError

    def keep(self, draft: EnrollmentDraft, form) -> None:
        """An invalid form: keep what may be kept of it (nothing, by default)."""

    def error_context(self, form) -> dict:
        """What the page shows for an invalid form (its bound form, by default)."""
        return {self.form_key: form}

    def error_flash(self, form) -> str | None:
        """A flash message for an invalid form whose errors have no field on the page."""
        return None


def draft_utilities(draft: EnrollmentDraft) -> list[Utility]:
    """The active utilities serving the draft's zip code (kept on the instance: the step's
    form and the page it renders ask twice in one request)."""
    zip_code = draft.data.get("zip_code", "")
    memo = getattr(draft, "_utilities_memo", None)
    if memo is not None and memo[0] == zip_code:
        return memo[1]
    utilities = list(
        Utility.objects.filter(active=True, service_areas__zip_code=zip_code).order_by("name")
    )
    draft._utilities_memo = (zip_code, utilities)  # type: ignore[attr-defined]
    return utilities


class SearchStep(Step):
    name = "search"
    template = "enrollments/steps/search.html"
    form_key = "search_form"

    def form(self, draft, data=None, files=None):
        return SearchForm(data, channel=draft.channel)

    def can_enter(self, draft) -> bool:
        return True

    def save(self, draft, form, request):
        data = {
            "zip_code": form.cleaned_data["zip_code"],
            "promo_code": form.cleaned_data["promo_code"],
            "customer_type": form.cleaned_data["customer_type"],
        }
        if draft.channel == Enrollment.Channel.WIZARD and request.affiliate:
            data["affiliate_code"] = request.affiliate
        changed = draft.data.get("zip_code") != data["zip_code"]
        draft_save_step(
            draft=draft,
            step="search",
            data=data,
            clear=("utility", "plan") if changed else ("plan",),
        )


class OptionsStep(Step):
    name = "options"
    template = "enrollments/steps/options.html"
    needs = ("zip_code",)
    form_key = "options_form"
    show_form_after_save = True  # above the products

    def form(self, draft, data=None, files=None):
        return OptionsForm(data, utilities=draft_utilities(draft), channel=draft.channel)

    def save(self, draft, form, request):
        draft_save_step(
            draft=draft,
            step="options",
            data={
                "utility": form.cleaned_data["utility"],
                "referral_source": form.cleaned_data.get("referral_source") or "",
                "consent_method": form.cleaned_data.get("consent_method") or ConsentMethod.WEB,
            },
            clear=("plan",),
        )


class ProductsStep(Step):
    name = "products"
    template = "enrollments/steps/products.html"
    needs = ("zip_code", "utility")
    form_key = "products_form"

    def form(self, draft, data=None, files=None):
        plans = plans_available(
            utility=Utility.objects.get(code=draft.data["utility"]),
            customer_type=CustomerType.objects.get(code=draft.data["customer_type"]),
            channel=draft.channel,
        )
        return ProductForm(data, plans=plans)

    def save(self, draft, form, request):
        draft_save_step(draft=draft, step="products", data={"plan": form.cleaned_data["plan"]})

    def error_context(self, form) -> dict:
        return {self.form_key: form, "products_error": form.errors["plan"][0]}


class CustomerStep(Step):
    """Quick Enrollment only: a new customer or one found by the search. Not on the web, nor
    when "Enroll another account" attached the customer."""

    name = "customer"
    template = "enrollments/steps/customer.html"
    needs = ("zip_code", "utility", "plan")
    form_key = "customer_form"

    def applies(self, draft) -> bool:
        return draft.channel != Enrollment.Channel.WIZARD and not draft.data.get("attached")

    def form(self, draft, data=None, files=None):
        return CustomerChoiceForm(data)

    def save(self, draft, form, request):
        draft.customer = form.cleaned_data["customer"]
        draft_save_step(
            draft=draft, step="customer", data={"customer_choice": form.data.get("customer")}
        )

    def error_flash(self, form) -> str | None:
        return form.errors["customer"][0]


class DetailsStep(Step):
    name = "details"
    template = "enrollments/steps/details.html"
    needs = ("zip_code", "utility", "plan")
    form_key = "details_form"

    def form(self, draft, data=None, files=None):
        return DetailsForm(
            data,
            utility=Utility.objects.get(code=draft.data["utility"]),
            channel=draft.channel,
            existing_customer=draft.customer,
            secrets_on_file=draft_secret(draft),
        )

    def save(self, draft, form, request):
        cd = form.cleaned_data
        data = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in cd.items()
            if k not in DetailsForm.SECRET_FIELDS and not k.startswith("password")
        }
        secret = form.typed_secrets()
        if cd.get("password1"):
            secret["password_hash"] = make_password(cd["password1"])
        if draft.customer is None:
            draft.email = cd["email"]
        draft_save_step(
            draft=draft, step="details", data=data, secret=secret, clear=(TYPED_DETAILS,)
        )
        if draft.channel == Enrollment.Channel.WIZARD and request.resume_link:
            draft_resume_email_send(draft=draft, link=request.resume_link)

    def keep(self, draft, form) -> None:
        """Bug 1 of #23: an error elsewhere on the page never costs the agent the SSN. What
        passed its own checks goes into the encrypted secret; what was typed in the other
        fields waits under ``TYPED_DETAILS`` (not the answers: the step is not done)."""
        secret = form.typed_secrets()
        if secret:
            merged = draft_secret(draft)
            merged.update(secret)
            draft.secret = json.dumps(merged)
        draft.data[TYPED_DETAILS] = form.typed_values()
        draft.save(update_fields=["secret", "data", "updated_at"])
        form.secrets_on_file = draft_secret(draft)
        form.forget_secrets()
        for name, hint in form.on_file_hints().items():
            form[name].help_text = hint  # the bound field, made when the form was validated


TYPED_DETAILS = "details_typed"


class ReviewStep(Step):
    """The acknowledgement: statements, the signed contract if that is the consent, submit."""

    name = "review"
    template = "enrollments/steps/review.html"
    needs = ("zip_code", "utility", "plan", "esiid")
    form_key = "review_form"

    def form(self, draft, data=None, files=None):
        consent = ConsentMethod.objects.filter(code=draft.data.get("consent_method", "")).first()
        return ReviewForm(
            data,
            files,
            channel=draft.channel,
            needs_document=bool(consent and consent.requires_document),
        )

    def save(self, draft, form, request):
        draft_submit(
            draft=draft,
            token=form.cleaned_data["idempotency_token"],
            actor=request.actor,
            ip=request.ip,
            user_agent=request.user_agent,
            signed_contract=form.cleaned_data.get("signed_contract"),
            acknowledgements=tuple(form.acknowledged()),
            base_url=request.base_url,
        )


class DatesStep(Step):
    """Change Enrollment Dates: an action on the review step, not a step of its own."""

    name = "dates"
    template = "enrollments/steps/review.html"
    needs = ReviewStep.needs
    in_path = False
    form_key = "dates_form"
    shown_after_error = "review"
    saved_message = _("Enrollment dates changed.")

    def can_enter(self, draft) -> bool:
        return draft.step == "review" and all(draft.data.get(k) for k in self.needs)

    def form(self, draft, data=None, files=None):
        return DatesForm(data)

    def save(self, draft, form, request):
        cd = form.cleaned_data
        draft.data.update(
            enrollment_type=cd["enrollment_type"],
            requested_start_date=cd["requested_start_date"].isoformat(),
        )
        draft.step = "review"
        draft.save(update_fields=["data", "step", "updated_at"])


class DoneStep(Step):
    name = "done"
    template = "enrollments/steps/done.html"

    def can_enter(self, draft) -> bool:
        return draft.enrollment_id is not None


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        SearchStep(),
        OptionsStep(),
        ProductsStep(),
        CustomerStep(),
        DetailsStep(),
        ReviewStep(),
        DoneStep(),
        DatesStep(),
    )
}


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
        raise ApplicationError(gettext("This form is out of date. Reload the page."), code="stale")
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
        # the wizard's customer chose a password; an agent's gets the set-password email
        login=Login(
            password_hash=draft_secret(locked).get("password_hash", "") if wizard else "",
            base_url="" if wizard else base_url,
        ),
    )
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
