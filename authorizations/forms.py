"""What a person or an agent types to authorize, upload or enter usage."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from authorizations.models import UsageAuthorization
from authorizations.parsers import MAX_CSV_BYTES, MAX_XML_BYTES
from opsadmin.models import CustomerType


class AuthorizeForm(forms.Form):
    """The fewest fields SMT needs for an agreement: ESIID, meter number, email, language."""

    esiid = forms.RegexField(
        label=_("ESIID"),
        regex=r"^10\d{15}(\d{5})?$",
        max_length=22,
        help_text=_("17 or 22 digits starting with 10, printed on your electricity bill."),
        error_messages={"invalid": _("An ESIID is 17 or 22 digits starting with 10.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    meter_number = forms.CharField(
        label=_("Meter number"), max_length=40, help_text=_("Also on your bill, near the ESIID.")
    )
    email = forms.EmailField(
        label=_("Email"), help_text=_("Smart Meter Texas sends the approval request here.")
    )
    language = forms.ChoiceField(
        label=_("Language for Smart Meter Texas's email"),
        choices=settings.LANGUAGES,
        initial="en",
    )
    consent = forms.BooleanField(
        label=_("I agree to share my electricity usage with Lone Star Power as explained above."),
    )


class StaffAuthorizeForm(AuthorizeForm):
    customer_type = forms.ModelChoiceField(
        label="Customer type", queryset=CustomerType.objects.filter(active=True)
    )
    consent = forms.BooleanField(
        label="The caller agreed to share their usage after I read the explanation.",
    )


class ProspectAuthorizeForm(forms.Form):
    email = forms.EmailField(label="Contact email for the SMT request")
    language = forms.ChoiceField(
        label="Language", choices=UsageAuthorization.Language.choices, initial="en"
    )
    consent = forms.BooleanField(
        label="The contact agreed to share this premise's usage after hearing the explanation.",
    )


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of file"),
        choices=[
            ("smt_csv", _("Smart Meter Texas CSV export (15-minute intervals)")),
            ("green_button", _("Green Button file (XML, or the ZIP a utility gives)")),
        ],
    )
    usage_point = forms.IntegerField(
        label=_("Meter in the file"),
        required=False,
        min_value=1,
        max_value=99,
        help_text=_("Only for a Green Button file that holds several meters: its number."),
    )
    file = forms.FileField(label=_("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext("CSV up to %(csv)s MB, XML up to %(xml)s MB.") % {
            "csv": MAX_CSV_BYTES // 2**20,
            "xml": MAX_XML_BYTES // 2**20,
        }

    def clean(self):
        super().clean()
        data = self.cleaned_data
        upload = data.get("file")
        limit = MAX_XML_BYTES if data.get("kind") == "green_button" else MAX_CSV_BYTES
        if upload is not None and upload.size > limit:
            # refused before reading it into memory
            self.add_error(
                "file",
                gettext("The file is larger than %(mb)s MB; nothing was stored.")
                % {"mb": limit // 2**20},
            )
        return data


def last_twelve_months(today: date) -> list[date]:
    """The 12 full calendar months before this one, oldest first."""
    first = today.replace(day=1)
    out = []
    for _month in range(12):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first)
    return list(reversed(out))


class ManualForm(forms.Form):
    """12 monthly kWh figures, as printed on the person's bills."""

    def __init__(self, *args, months: list[date], **kwargs):
        super().__init__(*args, **kwargs)
        self.months = months
        for i, month in enumerate(months):
            self.fields[f"m{i}"] = forms.DecimalField(
                label=f"{dateformat.format(month, gettext('F Y'))} (kWh)",
                min_value=Decimal("0"),
                max_value=Decimal("10000000"),
                max_digits=11,
                decimal_places=3,
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
            )

    def figures(self) -> list[tuple[date, Decimal]]:
        return [(m, self.cleaned_data[f"m{i}"]) for i, m in enumerate(self.months)]
