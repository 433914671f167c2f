"""What a person types in Quick Enrollment, the Signup Wizard and the catalogue screens."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from enrollments.dates import earliest_start_date, market_today, start_date_problem
from enrollments.models import (
    ConsentMethod,
    Customer,
    Enrollment,
    Plan,
    PlanBillCredit,
    PlanEnergyTier,
    PromoCode,
    ReferralSource,
    TduCharge,
    TouPeriod,
)
from enrollments.services import promo_code_lookup
from enrollments.validators import validate_esiid_for_utility
from opsadmin.errors import ApplicationError
from opsadmin.i18n import translation_fields
from opsadmin.models import CustomerType, User, Utility

UNSERVED = _("Oops! We don't service your area!")
SSN_RE = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
PHONE_RE = re.compile(r"^\D*(\d\D*){10}$")


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """``form.fields[name]``, typed: the choice fields' choices are set per request."""
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} must be a ChoiceField")
    return field


class SearchForm(forms.Form):
    """Product selection: zip code, promo code, customer type."""

    zip_code = forms.CharField(
        label=_("Zip code"),
        max_length=5,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "postal-code", "size": 6}
        ),
    )
    promo_code = forms.CharField(label=_("Promotional Code"), max_length=30, required=False)
    customer_type = forms.ChoiceField(label=_("Customer type"))

    def __init__(
        self, *args, channel: str, customer_types: list[tuple[str, str]] | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.utilities: list[Utility] = []
        if customer_types is None:
            customer_types = [
                (t.code, t.local_name) for t in CustomerType.objects.filter(active=True)
            ]
        _choice_field(self, "customer_type").choices = customer_types

    def clean_zip_code(self):
        value = self.cleaned_data["zip_code"].strip()
        if not re.fullmatch(r"\d{5}", value):
            raise forms.ValidationError(_("Enter a 5-digit zip code."))
        self.utilities = list(
            Utility.objects.filter(active=True, service_areas__zip_code=value).order_by("name")
        )
        if not self.utilities:
            raise forms.ValidationError(UNSERVED, code="unserved")
        return value

    def clean_promo_code(self):
        code = self.cleaned_data["promo_code"].strip().upper()
        if code:
            try:
                promo_code_lookup(code=code, channel=self.channel)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        return code


class OptionsForm(forms.Form):
    """Utility (a choice only when the zip has several), referral, consent method."""

    utility = forms.ChoiceField(label=_("Utility"))
    referral_source = forms.ChoiceField(label=_("How did you hear about us?"), required=False)
    consent_method = forms.ChoiceField(label=_("Method of consent"), widget=forms.RadioSelect)

    def __init__(self, *args, utilities: list[Utility], channel: str, **kwargs):
        super().__init__(*args, **kwargs)
        _choice_field(self, "utility").choices = [(u.code, u.name) for u in utilities]
        _choice_field(self, "referral_source").choices = [("", _("(choose one)"))] + [
            (r.name, r.local_name) for r in ReferralSource.objects.filter(active=True)
        ]
        if len(utilities) == 1:
            self.fields["utility"].widget = forms.HiddenInput()
            self.fields["utility"].initial = utilities[0].code
        if channel == Enrollment.Channel.WIZARD:
            # A customer on the website consents on the web; nothing to choose.
            del self.fields["consent_method"]
        else:
            _choice_field(self, "consent_method").choices = list(
                ConsentMethod.objects.filter(active=True).values_list("code", "name")
            )
            self.fields["consent_method"].initial = ConsentMethod.PHONE


DEPOSIT_ALTERNATIVES = [
    ("", _("None: I give my SSN and date of birth")),
    ("deposit", _("Pay a deposit")),
    ("credit_letter", _("Letter of credit history")),
    ("prepay", _("Prepay")),
]


class DetailsForm(forms.Form):
    """Customer and premise: what the billing system's Create Prospect needs (TX fields)."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    company_name = forms.CharField(label=_("Company name"), max_length=120, required=False)
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    # Each language named in its own tongue (settings.LANGUAGES); PUCT Subst. R. 25.473 lets
    # the customer ask for Spanish documents.
    language = forms.ChoiceField(
        label=_("Language for documents"), choices=settings.LANGUAGES, initial="en"
    )
    notice_preference = forms.ChoiceField(
        label=_("Send notices by"),
        choices=[
            (Customer.NoticePreference.EMAIL, _("Email")),
            (Customer.NoticePreference.LETTER, _("Letter")),
        ],
        initial="email",
        widget=forms.RadioSelect,
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )
    ssn = forms.CharField(
        label=_("Social Security Number"),
        required=False,
        max_length=11,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text=_("Used for the credit check only; we keep the last 4 digits."),
    )
    deposit_alternative = forms.ChoiceField(
        label=_("Instead of SSN and date of birth"),
        choices=DEPOSIT_ALTERNATIVES,
        required=False,
    )
    drivers_license = forms.CharField(
        label=_("Driver's license (optional)"), max_length=30, required=False
    )
    esiid = forms.CharField(
        label=_("ESIID"),
        max_length=22,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("17 or 22 digits, starting with 10."),
    )
    meter_number = forms.CharField(label=_("Meter number"), max_length=40, required=False)
    address_line1 = forms.CharField(
        label=_("Service address"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(label=_("Apt / suite"), max_length=120, required=False)
    city = forms.CharField(label=_("City"), max_length=60)
    enrollment_type = forms.ChoiceField(
        label=_("Switch or move-in"),
        choices=[
            (Enrollment.EnrollmentType.SWITCH, _("Switch")),
            (Enrollment.EnrollmentType.MOVE_IN, _("Move-in")),
        ],
        initial="switch",
        widget=forms.RadioSelect,
    )
    requested_start_date = forms.DateField(
        label=_("Requested start date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    critical_care = forms.BooleanField(
        label=_(
            "Someone at this address depends on electric life-support equipment (critical care)"
        ),
        required=False,
    )
    billing_same = forms.BooleanField(
        label=_("Billing address is the service address"), required=False, initial=True
    )
    billing_address_line1 = forms.CharField(
        label=_("Billing address"), max_length=120, required=False
    )
    billing_address_line2 = forms.CharField(
        label=_("Billing apt / suite"), max_length=120, required=False
    )
    billing_city = forms.CharField(label=_("Billing city"), max_length=60, required=False)
    billing_state = forms.CharField(label=_("Billing state"), max_length=2, required=False)
    billing_zip = forms.CharField(label=_("Billing zip code"), max_length=5, required=False)
    password1 = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("For My Account; your username is your email. At least 10 characters."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    CUSTOMER_FIELDS = (
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "language",
        "notice_preference",
        "date_of_birth",
        "ssn",
        "deposit_alternative",
        "drivers_license",
        "billing_same",
        "billing_address_line1",
        "billing_address_line2",
        "billing_city",
        "billing_state",
        "billing_zip",
    )
    SECRET_FIELDS = ("ssn", "date_of_birth", "drivers_license")

    def __init__(
        self,
        *args,
        utility: Utility,
        channel: str,
        existing_customer: Customer | None,
        secrets_on_file: dict[str, str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.utility = utility
        self.channel = channel
        self.existing_customer = existing_customer
        # What an earlier pass of this step left in the draft's encrypted secret (SSN, date of
        # birth, licence): a blank field keeps it; the page says so without showing it.
        self.secrets_on_file = {k: v for k, v in (secrets_on_file or {}).items() if v}
        self.fields["meter_number"].label = utility.local_meter_number_label
        if "language" in self.fields and not self.is_bound:
            # A customer who browses in Spanish most likely wants Spanish documents.
            self.fields["language"].initial = "es" if get_language() == "es" else "en"
        if existing_customer is not None:
            for name in self.CUSTOMER_FIELDS:
                del self.fields[name]
        if channel != Enrollment.Channel.WIZARD or existing_customer is not None:
            del self.fields["password1"]
            del self.fields["password2"]
        if "requested_start_date" in self.fields and not self.is_bound:
            self.fields["requested_start_date"].initial = earliest_start_date("switch")
        for name, hint in self.on_file_hints().items():
            self.fields[name].help_text = hint

    def on_file_hints(self) -> dict[str, str]:
        """Per secret field kept in the draft: what the page may say about it (never more
        than the last 4 of the SSN, the last 2 of the licence)."""
        hints: dict[str, str] = {}
        on_file = self.secrets_on_file
        if "ssn" in self.fields and on_file.get("ssn"):
            hints["ssn"] = gettext("SSN on file ending %(last4)s — leave blank to keep it.") % {
                "last4": on_file["ssn"][-4:]
            }
        if "date_of_birth" in self.fields and on_file.get("date_of_birth"):
            hints["date_of_birth"] = gettext("Date of birth on file — leave blank to keep it.")
        if "drivers_license" in self.fields and on_file.get("drivers_license"):
            hints["drivers_license"] = gettext(
                "Driver's license on file ending %(last2)s — leave blank to keep it."
            ) % {"last2": on_file["drivers_license"][-2:]}
        return hints

    @property
    def credit_on_file(self) -> bool:
        return bool(self.secrets_on_file.get("ssn") and self.secrets_on_file.get("date_of_birth"))

    def typed_secrets(self) -> dict[str, str]:
        """The secret fields typed in this pass that passed their own checks (for the draft's
        encrypted secret), whatever the rest of the form says."""
        cleaned = getattr(self, "cleaned_data", {})
        kept: dict[str, str] = {}
        for name in self.SECRET_FIELDS:
            value = cleaned.get(name)
            if name in self.fields and value and name not in self.errors:
                kept[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return kept

    def typed_values(self) -> dict:
        """What was typed in the non-secret fields, as typed (to show again after F5)."""
        typed: dict = {}
        for name, field in self.fields.items():
            if name in self.SECRET_FIELDS or name.startswith("password"):
                continue
            value = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if isinstance(value, (str, bool)):
                typed[name] = value
        return typed

    def forget_secrets(self) -> None:
        """Drop the secret fields from the bound data once validated: a re-render with errors
        never writes the SSN, date of birth or licence back into the page."""
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
        for name in self.SECRET_FIELDS:
            data.pop(name, None)
        self.data = data

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if not PHONE_RE.fullmatch(value):
            raise forms.ValidationError(_("Enter a 10-digit phone number."))
        return value

    def clean_email(self):
        value = self.cleaned_data["email"].strip().lower()
        if (
            self.channel == Enrollment.Channel.WIZARD
            and User.objects.filter(username__iexact=value).exists()
        ):
            raise forms.ValidationError(
                _(
                    "This email already has a My Account login. Log in to My Account, or use "
                    "another email."
                )
            )
        return value

    def clean_ssn(self):
        value = self.cleaned_data["ssn"].strip()
        if not value:
            return ""
        match = SSN_RE.fullmatch(value)
        if not match or match.group(1) in ("000", "666") or match.group(1).startswith("9"):
            raise forms.ValidationError(_("Enter a 9-digit Social Security Number."))
        return "".join(match.groups())

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        if value is None:
            return None
        today = market_today()
        age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
        if age < 18:
            raise forms.ValidationError(_("The account holder must be 18 or older."))
        if age > 120:
            raise forms.ValidationError(_("Check the date of birth."))
        return value

    def clean_esiid(self):
        value = re.sub(r"\s", "", self.cleaned_data["esiid"])
        if self.utility.is_ercot:
            try:
                validate_esiid_for_utility(value, self.utility)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        if Enrollment.objects.filter(
            service_account__esiid=value, status__in=Enrollment.OPEN_STATUSES
        ).exists():
            raise forms.ValidationError(_("This ESIID already has a pending or active enrollment."))
        return value

    def clean_billing_state(self):
        return self.cleaned_data["billing_state"].strip().upper()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if self.existing_customer is None:
            # Given on an earlier pass: kept encrypted in the draft, a blank field keeps it.
            has_ssn = cleaned.get("ssn") or self.secrets_on_file.get("ssn")
            has_dob = cleaned.get("date_of_birth") or self.secrets_on_file.get("date_of_birth")
            if not (has_ssn and has_dob) and not cleaned.get("deposit_alternative"):
                # PUCT 25.478: credit by SSN/DOB, or an alternative such as a deposit.
                if not has_ssn and "ssn" not in self.errors:
                    self.add_error(
                        "ssn", _("Enter the SSN and date of birth, or choose an alternative below.")
                    )
                if not has_dob and "date_of_birth" not in self.errors:
                    self.add_error(
                        "date_of_birth",
                        _("Enter the date of birth, or choose an alternative below."),
                    )
            if not cleaned.get("billing_same"):
                for name in (
                    "billing_address_line1",
                    "billing_city",
                    "billing_state",
                    "billing_zip",
                ):
                    if not cleaned.get(name):
                        self.add_error(name, _("Required when billing goes to another address."))
                if cleaned.get("billing_zip") and not re.fullmatch(
                    r"\d{5}", cleaned["billing_zip"]
                ):
                    self.add_error("billing_zip", _("Enter a 5-digit zip code."))
                if cleaned.get("billing_state") and not re.fullmatch(
                    r"[A-Z]{2}", cleaned["billing_state"]
                ):
                    self.add_error("billing_state", _("Use the 2-letter state code."))
        requested = cleaned.get("requested_start_date")
        if requested and cleaned.get("enrollment_type"):
            problem = start_date_problem(requested, cleaned["enrollment_type"])
            if problem:
                self.add_error("requested_start_date", problem)
        if "password1" in self.fields and cleaned.get("password1"):
            if cleaned.get("password1") != cleaned.get("password2"):
                self.add_error("password2", _("The passwords don't match."))
            else:
                user = User(
                    username=cleaned.get("email") or "",
                    email=cleaned.get("email") or "",
                    first_name=cleaned.get("first_name") or "",
                    last_name=cleaned.get("last_name") or "",
                )
                try:
                    validate_password(cleaned["password1"], user)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return cleaned


class ProductForm(forms.Form):
    """The plan chosen from the products table (one of the plans this channel may sell)."""

    plan = forms.ChoiceField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose a plan from the table."),
            "invalid_choice": _("Choose a plan from the table."),
        },
    )

    def __init__(self, *args, plans: list[Plan], **kwargs):
        super().__init__(*args, **kwargs)
        _choice_field(self, "plan").choices = [(p.code, p.name) for p in plans]


class CustomerChoiceForm(forms.Form):
    """Quick Enrollment's New or existing customer: "new" or the id of a customer found."""

    customer = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose New customer or a customer from the search.")},
    )

    def clean_customer(self) -> Customer | None:
        choice = self.cleaned_data["customer"]
        if choice == "new":
            return None
        found = Customer.objects.filter(pk=int(choice) if choice.isdigit() else 0).first()
        if found is None:
            raise forms.ValidationError(_("Choose New customer or a customer from the search."))
        return found


class DatesForm(forms.Form):
    """Change Enrollment Dates on the acknowledgement screen."""

    enrollment_type = DetailsForm.base_fields["enrollment_type"]
    requested_start_date = DetailsForm.base_fields["requested_start_date"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        requested = cleaned.get("requested_start_date")
        if requested and cleaned.get("enrollment_type"):
            problem = start_date_problem(requested, cleaned["enrollment_type"])
            if problem:
                self.add_error("requested_start_date", problem)
        return cleaned


ACKNOWLEDGEMENTS = [
    (
        "efl",
        "The Electricity Facts Label (EFL) for the plan was read to / reviewed by the customer.",
    ),
    (
        "tos",
        "The customer agrees to the Terms of Service, including the term and early termination fee.",
    ),
    ("yrac", "The customer received Your Rights as a Customer (YRAC)."),
    ("rescission", "The customer may cancel without penalty within 3 federal business days."),
]
# The same statements as the customer confirms them on the website, in their language.
WEB_ACKNOWLEDGEMENTS = {
    "efl": _("The Electricity Facts Label (EFL) for the plan was reviewed."),
    "tos": _("I agree to the Terms of Service, including the term and early termination fee."),
    "yrac": _("I received Your Rights as a Customer (YRAC)."),
    "rescission": _("I may cancel without penalty within 3 federal business days."),
}


class ReviewForm(forms.Form):
    """The acknowledgement statements, the signed contract (if that is the consent), and the
    form's idempotency token."""

    idempotency_token = forms.CharField(widget=forms.HiddenInput)
    signed_contract = forms.FileField(
        label=_("Signed contract (PDF or image)"),
        required=False,
        help_text=_("PDF, PNG or JPEG, up to 2 MB."),
    )

    def __init__(self, *args, channel: str, needs_document: bool, **kwargs):
        super().__init__(*args, **kwargs)
        for code, staff_text in ACKNOWLEDGEMENTS:
            text = (
                WEB_ACKNOWLEDGEMENTS[code] if channel == Enrollment.Channel.WIZARD else staff_text
            )
            self.fields[f"ack_{code}"] = forms.BooleanField(
                label=text,
                error_messages={"required": _("Confirm this statement to continue.")},
            )
        if needs_document:
            self.fields["signed_contract"].required = True
            self.fields["signed_contract"].error_messages["required"] = _(
                "Upload the signed contract."
            )
        else:
            del self.fields["signed_contract"]

    def clean_signed_contract(self):
        upload = self.cleaned_data.get("signed_contract")
        if upload is None:
            return None
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        head = upload.read(8)
        upload.seek(0)
        if not (
            head.startswith(b"%PDF") or head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8")
        ):
            raise forms.ValidationError(_("Upload a PDF, PNG or JPEG file."))
        return upload

    def acknowledged(self) -> list[str]:
        return [code for code, _text in ACKNOWLEDGEMENTS if self.cleaned_data.get(f"ack_{code}")]


# --- catalogue ----------------------------------------------------------------------------


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "is_web_plan",
            "customer_types",
            "utilities",
            "rate_type",
            "term_months",
            "energy_charge_cents",
            "base_fee",
            "etf_type",
            "etf_amount",
            "bill_credit",
            "bill_credit_min_kwh",
            "renewal_plan",
            "active",
        ]
        widgets = {
            "customer_types": forms.CheckboxSelectMultiple,
            "utilities": forms.CheckboxSelectMultiple,
        }

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("etf_type") == Plan.EtfType.NONE and cleaned.get("etf_amount"):
            self.add_error("etf_amount", "A plan with no ETF has amount 0.")
        if cleaned.get("etf_type") in (
            Plan.EtfType.FLAT,
            Plan.EtfType.PER_MONTH,
        ) and not cleaned.get("etf_amount"):
            self.add_error("etf_amount", "Enter the ETF amount, or choose None.")
        if cleaned.get("bill_credit") and cleaned.get("bill_credit_min_kwh") is None:
            self.add_error("bill_credit_min_kwh", "Enter the usage from which the credit applies.")
        if self.instance.pk and cleaned.get("renewal_plan") == self.instance:
            self.add_error("renewal_plan", "A plan cannot renew into itself.")
        return cleaned


class TduChargeForm(forms.ModelForm):
    class Meta:
        model = TduCharge
        fields = ["utility", "monthly_charge", "per_kwh_cents", "effective_date"]
        widgets = {"effective_date": forms.DateInput(attrs={"type": "date"})}


class PromoCodeForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=Enrollment.Channel.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = PromoCode
        fields = [
            "code",
            "description",
            "valid_from",
            "valid_until",
            "channels",
            "benefit",
            "amount",
            "active",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not re.fullmatch(r"[A-Z0-9_-]{3,30}", code):
            raise forms.ValidationError("Use 3-30 letters, digits, - or _.")
        return code

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "The end date is before the start date.")
        return cleaned


class ReferralSourceForm(forms.ModelForm):
    class Meta:
        model = ReferralSource
        fields = ["name", "sort_order", "active"]


class ConsentMethodForm(forms.ModelForm):
    class Meta:
        model = ConsentMethod
        fields = ["code", "name", "requires_document", "active"]


# --- a plan's price structure: tiers, bill credits, time-of-use periods ----------------------

ISO_DAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class TouPeriodForm(forms.ModelForm):
    days_of_week = forms.TypedMultipleChoiceField(
        label="Days",
        choices=ISO_DAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        initial=[d for d, _ in ISO_DAYS],
    )

    class Meta:
        model = TouPeriod
        # the Spanish name beside the English one (opsadmin.i18n): customers read it
        fields = translation_fields(
            [
                "name",
                "energy_charge_cents",
                "start_hour",
                "end_hour",
                "days_of_week",
                "on_holidays",
                "sort_order",
            ],
            TouPeriod,
        )
        labels = {
            "start_hour": "From hour (0-23)",
            "end_hour": "Until hour (1-24)",
            "on_holidays": "Also on holidays",
            "sort_order": "Order (first match wins)",
        }


class PlanBillCreditForm(forms.ModelForm):
    class Meta:
        model = PlanBillCredit
        fields = ["min_kwh", "max_kwh", "amount"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        low, high = cleaned.get("min_kwh"), cleaned.get("max_kwh")
        if low is not None and high is not None and high < low:
            self.add_error("max_kwh", "Up to must be at least From.")
        return cleaned


PlanEnergyTierFormSet = forms.inlineformset_factory(
    Plan, PlanEnergyTier, fields=["above_kwh", "energy_charge_cents"], extra=1, can_delete=True
)
PlanBillCreditFormSet = forms.inlineformset_factory(
    Plan, PlanBillCredit, form=PlanBillCreditForm, extra=1, can_delete=True
)
TouPeriodFormSet = forms.inlineformset_factory(
    Plan, TouPeriod, form=TouPeriodForm, extra=1, can_delete=True
)
PRICE_FORMSETS = (
    ("tiers", "Energy charge tiers", PlanEnergyTierFormSet),
    ("credits", "Bill credits at usage thresholds", PlanBillCreditFormSet),
    ("tou", "Time-of-use periods (America/Chicago hours)", TouPeriodFormSet),
)
