from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from opsadmin.i18n import translation_fields
from opsadmin.models import CustomerType, SystemSetup, ThirdPartyProvider, UsageTierSet, Utility


class StaffLoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff_user:
            raise forms.ValidationError(
                "This login is for staff. Customers sign in at My Account.", code="not_staff"
            )


class CustomerLoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_customer:
            raise forms.ValidationError(
                _("This login is for customers. Staff sign in at /login/."), code="not_customer"
            )


class SystemSetupForm(forms.ModelForm):
    class Meta:
        model = SystemSetup
        fields = [
            "show_etf_message_on_drops",
            "drop_days_in_advance",
            "drop_max_days_ahead",
            "abandoned_signup_hours",
        ]


class UsageTierForm(forms.ModelForm):
    tiers_kwh = forms.CharField(
        label="Usage tiers (kWh)",
        help_text="Comma-separated, ascending. Texas EFL: 500, 1000, 2000.",
    )

    class Meta:
        model = UsageTierSet
        fields = ["state", "tiers_kwh"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tiers_kwh"] = ", ".join(str(t) for t in self.instance.tiers_kwh)

    def clean_tiers_kwh(self):
        raw = self.cleaned_data["tiers_kwh"]
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise forms.ValidationError("Enter whole kWh numbers separated by commas.")
        tiers = [int(p) for p in parts]
        if tiers != sorted(set(tiers)) or tiers[0] <= 0:
            raise forms.ValidationError("Tiers must be positive and strictly ascending.")
        if len(tiers) > 6:
            raise forms.ValidationError("At most 6 tiers.")
        return tiers

    def clean_state(self):
        state = self.cleaned_data["state"].upper()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise forms.ValidationError("Use the 2-letter state code.")
        return state


class ThirdPartyProviderForm(forms.ModelForm):
    """Secrets are write-only: blank keeps the stored value; the form never shows them."""

    SECRET_FIELDS = ("smt_password", "esg_api_key", "derms_api_key")
    smt_password = forms.CharField(
        label="SMT Password", required=False, widget=forms.PasswordInput(render_value=False)
    )
    esg_api_key = forms.CharField(
        label="ESG API key", required=False, widget=forms.PasswordInput(render_value=False)
    )
    derms_api_key = forms.CharField(
        label="DERMS API key", required=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = ThirdPartyProvider
        fields = [
            "smt_enabled",
            "smt_api_url",
            "smt_username",
            "smt_password",
            "smt_duns_number",
            "smt_requester_type",
            "smt_certificate_name",
            "smt_auth_mode",
            "esg_api_url",
            "esg_api_key",
            "derms_api_url",
            "derms_api_key",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.SECRET_FIELDS:
            self.fields[name].help_text = (
                "Set. Leave blank to keep it." if getattr(self.instance, name) else "Not set."
            )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        from opsadmin.outbound import OutboundURLError, check_outbound_url

        for name in ("smt_api_url", "esg_api_url", "derms_api_url"):
            if cleaned.get(name):
                try:
                    check_outbound_url(cleaned[name])
                except OutboundURLError as exc:
                    self.add_error(name, str(exc))
        if cleaned.get("smt_enabled"):
            required = ["smt_api_url", "smt_username", "smt_duns_number"]
            for name in required:
                if not cleaned.get(name):
                    self.add_error(name, "Required when Smart Meter Texas usage is on.")
            if not cleaned.get("smt_password") and not self.instance.smt_password:
                self.add_error("smt_password", "Required when Smart Meter Texas usage is on.")
        return cleaned

    def save(self, commit=True):
        obj = super().save(commit=False)
        for name in self.SECRET_FIELDS:
            new = self.cleaned_data.get(name)
            if not new:  # keep what is stored
                setattr(
                    obj,
                    name,
                    type(obj).objects.filter(pk=obj.pk).values_list(name, flat=True).first() or "",
                )
        if commit:
            obj.save()
        return obj


class UtilityForm(forms.ModelForm):
    esiid_prefixes = forms.CharField(
        label="ESIID prefixes", required=False, help_text="Comma-separated, e.g. 1044372, 1017699"
    )
    zip_codes = forms.CharField(
        label="Service area ZIP codes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="5-digit ZIP codes this utility serves, separated by commas or spaces.",
    )

    class Meta:
        model = Utility
        fields = translation_fields(
            [
                "code",
                "name",
                "market",
                "state",
                "esiid_prefixes",
                "meter_number_label",
                "billing_system",
                "price_to_compare_cents",
                "active",
            ],
            Utility,
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["market"].widget.attrs["class"] = "searchable"
        if self.instance.pk:
            self.initial["esiid_prefixes"] = ", ".join(self.instance.esiid_prefixes)
            self.initial["zip_codes"] = " ".join(
                self.instance.service_areas.values_list("zip_code", flat=True)
            )

    def clean_esiid_prefixes(self):
        parts = [
            p.strip() for p in re.split(r"[,\s]+", self.cleaned_data["esiid_prefixes"]) if p.strip()
        ]
        for p in parts:
            if not re.fullmatch(r"10\d{5}", p):
                raise forms.ValidationError(
                    f"{p} is not an ESIID prefix (7 digits starting with 10)."
                )
        return parts

    def clean_zip_codes(self):
        parts = [p for p in re.split(r"[,\s]+", self.cleaned_data["zip_codes"]) if p]
        bad = [p for p in parts if not re.fullmatch(r"\d{5}", p)]
        if bad:
            raise forms.ValidationError(f"Not 5-digit zip codes: {', '.join(bad[:5])}")
        return sorted(set(parts))


class CustomerTypeForm(forms.ModelForm):
    class Meta:
        model = CustomerType
        fields = translation_fields(
            ["code", "name", "drop_visible_in_myaccount", "active"], CustomerType
        )
