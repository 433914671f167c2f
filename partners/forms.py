"""What an Ops user types on the partners screens."""

from __future__ import annotations

from django import forms

from partners.models import Partner


class ImportUploadForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.filter(active=True),
        help_text="The sales partner whose sales the file holds.",
    )
    file = forms.FileField(
        label="Batch enrollment file",
        help_text="CSV (UTF-8) or XLSX, from the template below.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


class ApiKeyCreateForm(forms.Form):
    partner = forms.CharField(
        label="Partner name",
        max_length=100,
        help_text="An existing partner, or a new one (it is created).",
    )
    label = forms.CharField(
        label="Key label", max_length=100, required=False, help_text="e.g. 'production'."
    )
