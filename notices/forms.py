from __future__ import annotations

from django import forms

from notices import registry
from notices.models import NoticeTemplate
from notices.services import notice_template_check
from opsadmin.errors import ApplicationError


class NoticeTemplateForm(forms.ModelForm):
    record_kind = forms.ChoiceField(label="About")

    class Meta:
        model = NoticeTemplate
        fields = ["name", "code", "kind", "record_kind", "subject", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record_kind"].choices = [(k.name, k.label) for k in registry.record_kinds()]

    def clean(self):
        cleaned = super().clean()
        try:
            notice_template_check(
                subject=cleaned.get("subject") or "", body=cleaned.get("body") or ""
            )
        except ApplicationError as exc:
            self.add_error("body", exc.message)
        if cleaned.get("kind") == NoticeTemplate.Kind.EMAIL and not cleaned.get("subject"):
            self.add_error("subject", "An email needs a subject.")
        return cleaned


class PreviewRecordForm(forms.Form):
    """Which record to preview the template against."""

    record_id = forms.IntegerField(label="Preview with record", required=False, min_value=1)

    def __init__(self, *args, record_kind: str = "enrollment", **kwargs):
        super().__init__(*args, **kwargs)
        kind = registry.record_kind(record_kind)
        choices = [("", "— choose —")]
        if kind is not None:
            choices += [(str(pk), label) for pk, label in kind.choices()]
        self.fields["record_id"].widget = forms.Select(
            choices=choices, attrs={"class": "searchable"}
        )
