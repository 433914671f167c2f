from __future__ import annotations

from typing import cast

from django import forms

from enrollments.models import Customer, Plan
from opsadmin.models import Utility
from prospects.models import Broker, Prospect, ProspectContact, ProspectServiceAddress


class ProspectForm(forms.ModelForm):
    class Meta:
        model = Prospect
        fields = ["company_name", "customer_type", "broker", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = user_model.objects.filter(
            kind=user_model.Kind.STAFF, is_active=True
        ).order_by("username")
        cast(forms.ModelChoiceField, self.fields["broker"]).queryset = Broker.objects.filter(
            active=True
        )


class ContactForm(forms.ModelForm):
    class Meta:
        model = ProspectContact
        fields = ["first_name", "last_name", "title", "email", "phone", "is_primary"]


class BrokerForm(forms.ModelForm):
    class Meta:
        model = Broker
        fields = ["name", "company", "email", "phone", "active"]


class AddressForm(forms.ModelForm):
    """A service address; the meter number's label is the chosen utility's (Utility Manager)."""

    class Meta:
        model = ProspectServiceAddress
        fields = [
            "utility",
            "esiid",
            "meter_number",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "zip_code",
        ]

    def __init__(self, *args, utility: Utility | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        utility_field = self.fields["utility"]
        if not isinstance(utility_field, forms.ModelChoiceField):
            raise TypeError("AddressForm.utility must be a ModelChoiceField")
        utility_field.queryset = Utility.objects.filter(active=True)
        utility = utility or (self.instance.utility if self.instance.utility_id else None)
        utility_pk = self.data.get("utility")
        if utility is None and utility_pk:
            utility = Utility.objects.filter(pk=utility_pk).first()
        self.fields["meter_number"].label = (
            utility.meter_number_label if utility else "Meter Number"
        )
        self.fields["utility"].widget.attrs.update(
            {
                "hx-get": "",
                "hx-trigger": "change",
                "hx-target": "#meter-field",
                "hx-select": "#meter-field",
                "hx-swap": "outerHTML",
                "hx-include": "this",
            }
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[c for c in Prospect.Status.choices if c[0] != Prospect.Status.CONVERTED]
    )


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))


class ConvertForm(forms.Form):
    plan_code = forms.ChoiceField(label="Plan")
    requested_start_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notice_preference = forms.ChoiceField(
        label="Notices by", choices=Customer.NoticePreference.choices
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["plan_code"]).choices = [
            (p.code, str(p)) for p in Plan.objects.filter(active=True).order_by("code")
        ]


class FilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Prospect.Status.choices]
    )
