"""What a customer types in My Account."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from enrollments.models import Customer
from myaccount.services import PROFILE_FIELDS
from opsadmin import clock
from opsadmin.models import User
from opsadmin.phones import phone_normalize

PERIODS = (("hourly", _("Hourly")), ("daily", _("Daily")), ("monthly", _("Monthly")))
PERIOD_VALUES = {
    "hourly": _("hourly values"),
    "daily": _("daily values"),
    "monthly": _("monthly values"),
}
# The longest Date Range each Period allows (days, inclusive). A year of hourly points
# is ~8,760 values, which the compact x0/dx payload carries comfortably.
MAX_SPAN_DAYS = {"hourly": 366, "daily": 731, "monthly": 1096}
# What a Period shows when the customer has not picked dates: the latest data.
DEFAULT_SPAN_DAYS = {"hourly": 7, "daily": 30, "monthly": 365}


class CustomerPasswordResetForm(PasswordResetForm):
    """Password reset for customers only (staff reset elsewhere).

    Customers enrolled by an agent have no usable password yet; they may still ask
    for the link (that is how they set their first one).
    """

    def get_users(self, email):
        return (
            u
            for u in User.objects.filter(
                email__iexact=email, is_active=True, kind=User.Kind.CUSTOMER
            )
        )


class ProfileForm(forms.ModelForm):
    # Each language named in its own tongue, so a customer finds theirs whatever is shown.
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    notice_preference = forms.ChoiceField(
        label=_("Send my notices by"),
        choices=[
            (Customer.NoticePreference.EMAIL, _("Email")),
            (Customer.NoticePreference.LETTER, _("Letter")),
        ],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Customer
        fields = list(PROFILE_FIELDS)  # the fields a customer may change (one list)
        labels = {
            "email": _("Email"),
            "phone": _("Phone"),
            "language": _("Language"),
            "notice_preference": _("Send my notices by"),
            "billing_address_line1": _("Mailing address"),
            "billing_address_line2": _("Mailing address (line 2)"),
            "billing_city": _("City"),
            "billing_state": _("State"),
            "billing_zip": _("Zip code"),
        }
        widgets = {
            "notice_preference": forms.RadioSelect,
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def clean_phone(self):
        # Stored in the one phone format (opsadmin.phones), e.g. (713) 555-0100.
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except ValueError:
            raise forms.ValidationError(_("Enter a 10-digit phone number.")) from None

    def clean_billing_state(self):
        state = self.cleaned_data["billing_state"].strip().upper()
        if state and (len(state) != 2 or not state.isalpha()):
            raise forms.ValidationError(_("Use the 2-letter state code."))
        return state

    def clean_billing_zip(self):
        value = self.cleaned_data["billing_zip"].strip()
        if value and not (len(value) == 5 and value.isdigit()):
            raise forms.ValidationError(_("Enter a 5-digit zip code."))
        return value

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("notice_preference") == Customer.NoticePreference.LETTER and not all(
            cleaned.get(f) for f in ("billing_address_line1", "billing_city", "billing_zip")
        ):
            self.add_error(
                "billing_address_line1", _("Letters need a mailing address, city and zip code.")
            )
        return cleaned


class UsageForm(forms.Form):
    """The SMT chart controls: Period, Date Range, Compare Previous, unit, style, texture."""

    period = forms.ChoiceField(
        label=_("Period"), choices=PERIODS, initial="daily", widget=forms.RadioSelect
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    compare = forms.BooleanField(label=_("Compare previous"), required=False)
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=(("kWh", "kWh"), ("MWh", "MWh")),
        initial="kWh",
        required=False,
        widget=forms.RadioSelect,
    )
    style = forms.ChoiceField(
        label=_("Chart type"),
        choices=(("columns", _("Columns")), ("area", _("Area"))),
        initial="columns",
        required=False,
        widget=forms.RadioSelect,
    )
    textured = forms.BooleanField(label=_("Textured view"), required=False)

    def __init__(self, *args, available: tuple[date, date] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.available = available
        if available:
            for name in ("start", "end"):
                self.fields[name].widget.attrs.update(
                    {"min": available[0].isoformat(), "max": available[1].isoformat()}
                )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        period = cleaned.get("period") or "daily"
        start, end = cleaned.get("start"), cleaned.get("end")
        last = self.available[1] if self.available else clock.today()
        first = self.available[0] if self.available else None
        if end is None:
            end = last
        if start is None:
            start = end - timedelta(days=DEFAULT_SPAN_DAYS[period] - 1)
        if first and start < first:
            start = first
        if start > end:
            self.add_error("start", _("The start date must be on or before the end date."))
            return cleaned
        span = (end - start).days + 1
        if span > MAX_SPAN_DAYS[period]:
            self.add_error(
                "start",
                gettext(
                    "%(period)s shows at most %(days)s days; "
                    "pick a shorter range or a longer period."
                )
                % {"period": dict(PERIODS)[period], "days": MAX_SPAN_DAYS[period]},
            )
            return cleaned
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def values(self) -> dict:
        """Cleaned values, or the defaults when the form is unbound or invalid."""
        if self.is_bound and self.is_valid():
            return dict(self.cleaned_data)
        fallback = UsageForm({"period": "daily"}, available=self.available)
        fallback.is_valid()
        return dict(fallback.cleaned_data)


class BillAlertForm(forms.Form):
    """The amount above which the projected bill is emailed (once per billing cycle)."""

    threshold = forms.DecimalField(
        label=_("Amount ($)"),
        min_value=Decimal("1"),
        max_value=Decimal("10000"),
        decimal_places=2,
        max_digits=8,
    )
