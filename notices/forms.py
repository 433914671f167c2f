from __future__ import annotations

from typing import cast

from django import forms

from notices import registry
from notices.models import NoticeTemplate
from notices.services import notice_template_check
from opsadmin.errors import ApplicationError


class NoticeTemplateForm(forms.ModelForm):
    record_kind = forms.ChoiceField(label="About")

    class Meta:
        model = NoticeTemplate
        fields = [
            "name",
            "code",
            "kind",
            "record_kind",
            "language",
            "translation_of",
            "subject",
            "body",
            "active",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["record_kind"]).choices = [
            (k.name, k.label) for k in registry.record_kinds()
        ]
        others = NoticeTemplate.objects.filter(translation_of__isnull=True, language="en")
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        self.fields["translation_of"].queryset = others  # type: ignore[attr-defined]
        self.fields["language"].required = False  # English unless a language is chosen

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        try:
            notice_template_check(
                subject=cleaned.get("subject") or "", body=cleaned.get("body") or ""
            )
        except ApplicationError as exc:
            self.add_error("body", exc.message)
        if cleaned.get("kind") == NoticeTemplate.Kind.EMAIL and not cleaned.get("subject"):
            self.add_error("subject", "An email needs a subject.")
        cleaned["language"] = cleaned.get("language") or "en"
        base, language = cleaned.get("translation_of"), cleaned["language"]
        if language and language != "en" and base is None:
            self.add_error("translation_of", "Choose the English template this one translates.")
        if base is not None and language == "en":
            self.add_error("language", "A translation is in another language than English.")
        if base is not None and cleaned.get("kind") and base.kind != cleaned["kind"]:
            self.add_error("kind", "A translation is the same kind (email/letter) as its original.")
        return cleaned


class PreviewRecordForm(forms.Form):
    """Which record to preview the template against."""

    record_id = forms.IntegerField(label="Preview with record", required=False, min_value=1)

    def __init__(self, *args, record_kind: str = "enrollment", **kwargs):
        super().__init__(*args, **kwargs)
        kind = registry.record_kind(record_kind)
        if kind is not None:
            self.fields["record_id"].help_text = f"Lists {kind.label.lower()} records (About)."
        choices = [("", "— choose —")]
        if kind is not None:
            choices += [(str(pk), label) for pk, label in kind.choices()]
        self.fields["record_id"].widget = forms.Select(
            choices=choices, attrs={"class": "searchable"}
        )
