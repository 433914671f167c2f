"""What customers and staff type for drops."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from drops.models import DropCode, DropRequest, DropSettings
from drops.services import ForwardingAddress
from opsadmin.i18n import translation_fields


def _numeric_date(value: date) -> str:
    """03/31/2026 in English, 31/03/2026 in Spanish."""
    return dateformat.format(value, gettext("m/d/Y"))


class DropRequestForm(forms.Form):
    """The short cancel / move-out form. The reason field exists only when the utility offers
    several My Account codes; the service re-checks every rule (a tampered POST is refused)."""

    requested_date = forms.DateField(
        label=_("Date to end service"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.ChoiceField(label=_("Reason"), required=True)
    meter_removal = forms.BooleanField(label=_("Request meter removal"), required=False)
    forwarding_address_line1 = forms.CharField(
        label=_("Forwarding address"), max_length=120, required=False
    )
    forwarding_address_line2 = forms.CharField(
        label=_("Apartment, suite (optional)"), max_length=120, required=False
    )
    forwarding_city = forms.CharField(label=_("City"), max_length=60, required=False)
    forwarding_state = forms.CharField(label=_("State"), max_length=2, required=False)
    forwarding_zip = forms.RegexField(
        label=_("Zip code"), regex=r"^\d{5}$", required=False, max_length=5
    )

    FORWARDING = (
        "forwarding_address_line1",
        "forwarding_address_line2",
        "forwarding_city",
        "forwarding_state",
        "forwarding_zip",
    )

    def __init__(
        self,
        *args,
        kind: str,
        codes: list[DropCode],
        earliest: date,
        latest: date,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.codes = codes
        self.earliest = earliest
        self.latest = latest
        date_field = self.fields["requested_date"]
        date_field.widget.attrs.update({"min": earliest.isoformat(), "max": latest.isoformat()})
        date_field.help_text = gettext("Between %(earliest)s and %(latest)s.") % {
            "earliest": _numeric_date(earliest),
            "latest": _numeric_date(latest),
        }
        if len(codes) > 1:
            reason = self.fields["reason"]
            assert isinstance(reason, forms.ChoiceField)
            reason.choices = [("", gettext("Choose a reason"))] + [
                (c.code, c.local_description) for c in codes
            ]
        else:
            del self.fields["reason"]
        if kind != DropRequest.Kind.MOVE_OUT:
            for name in self.FORWARDING:
                del self.fields[name]
        else:
            self.fields["forwarding_address_line1"].help_text = gettext(
                "Where we can reach you after you move. With a forwarding address no early "
                "termination fee applies."
            )
            self.fields["forwarding_state"].initial = "TX"

    def clean_requested_date(self) -> date:
        value = self.cleaned_data["requested_date"]
        if value < self.earliest:
            raise forms.ValidationError(
                gettext("The earliest date you can choose is %(date)s.")
                % {"date": _numeric_date(self.earliest)}
            )
        if value > self.latest:
            raise forms.ValidationError(
                gettext("The latest date you can choose is %(date)s.")
                % {"date": _numeric_date(self.latest)}
            )
        return value

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if len(self.codes) <= 1:
            # No choice is shown: anything posted must be nothing or the one code.
            posted = (self.data.get(self.add_prefix("reason")) or "").strip()
            allowed = {c.code for c in self.codes}
            if posted and posted not in allowed:
                raise forms.ValidationError(_("That reason is not available."))
        if self.kind == DropRequest.Kind.MOVE_OUT:
            given = [cleaned.get(n) for n in self.FORWARDING if n != "forwarding_address_line2"]
            if any(given) and not all(
                cleaned.get(n)
                for n in ("forwarding_address_line1", "forwarding_city", "forwarding_zip")
            ):
                raise forms.ValidationError(
                    _(
                        "Give the street, city and zip code of the forwarding address, or leave "
                        "it empty."
                    )
                )
        return cleaned

    @property
    def reason_code(self) -> str:
        if "reason" in self.fields:
            return self.cleaned_data.get("reason", "")
        return (self.data.get(self.add_prefix("reason")) or "").strip()

    @property
    def forwarding_address(self) -> ForwardingAddress | None:
        if self.kind != DropRequest.Kind.MOVE_OUT:
            return None
        c = self.cleaned_data
        address = ForwardingAddress(
            line1=c.get("forwarding_address_line1", ""),
            line2=c.get("forwarding_address_line2", ""),
            city=c.get("forwarding_city", ""),
            state=c.get("forwarding_state", "") or "TX",
            zip_code=c.get("forwarding_zip", ""),
        )
        return address if address.complete else None


class DropCodeForm(forms.ModelForm):
    class Meta:
        model = DropCode
        fields = translation_fields(
            ["utility", "code", "description", "outbound", "available_in_myaccount", "active"],
            DropCode,
        )


class DropSettingsForm(forms.ModelForm):
    class Meta:
        model = DropSettings
        fields = ["hold_hours", "customer_may_cancel_during_hold"]
