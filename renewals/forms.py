from __future__ import annotations

from typing import cast

from django import forms

from notices.models import NoticeTemplate
from opsadmin.models import Utility
from renewals.models import RenewalNotice, RenewalSetup
from renewals.selectors import RenewalFilters


class FilterForm(forms.Form):
    end_from = forms.DateField(
        label="Contract ends from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end_to = forms.DateField(
        label="Contract ends to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    utility = forms.ModelChoiceField(
        queryset=Utility.objects.order_by("name"), required=False, empty_label="Any utility"
    )
    channel = forms.ChoiceField(
        label="Notice type",
        required=False,
        choices=[("", "Any type"), *RenewalNotice.Channel.choices],
    )
    sent = forms.ChoiceField(
        label="Notice sent", required=False, choices=[("", "Any"), ("yes", "Yes"), ("no", "No")]
    )
    q = forms.CharField(label="Customer, billing account or ESIID", required=False, max_length=100)

    def filters(self) -> RenewalFilters:
        if not self.is_valid():
            return RenewalFilters()
        d = self.cleaned_data
        return RenewalFilters(
            end_from=d["end_from"],
            end_to=d["end_to"],
            utility_id=d["utility"].pk if d["utility"] else None,
            channel=d["channel"],
            sent={"yes": True, "no": False}.get(d["sent"]),
            q=d["q"],
        )


class RenewalSetupForm(forms.ModelForm):
    class Meta:
        model = RenewalSetup
        fields = [
            "notice_count",
            "final_notice_days",
            "short_term_months",
            "short_term_final_notice_days",
            "variable_notice_days",
            "lookahead_days",
            "email_template",
            "letter_template",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = NoticeTemplate.objects.filter(active=True, record_kind="enrollment")
        email = cast(forms.ModelChoiceField, self.fields["email_template"])
        email.queryset = base.filter(kind=NoticeTemplate.Kind.EMAIL)
        letter = cast(forms.ModelChoiceField, self.fields["letter_template"])
        letter.queryset = base.filter(kind=NoticeTemplate.Kind.LETTER)
