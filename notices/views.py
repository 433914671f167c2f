"""Template editor (with preview against a chosen record) and the letter queue."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from notices import registry
from notices.forms import NoticeTemplateForm, PreviewRecordForm
from notices.models import Letter, NoticeTemplate
from notices.services import letter_mark_mailed, notice_render, notice_template_save
from opsadmin.errors import ApplicationError
from opsadmin.permissions import staff_required


@staff_required("notices.view_noticetemplate")
def template_list(request):
    templates = NoticeTemplate.objects.select_related("translation_of")
    queued = Letter.objects.filter(state=Letter.State.QUEUED).count()
    return render(request, "notices/template_list.html", {"templates": templates, "queued": queued})


def _preview(
    record_kind: str, record_id: int | None, subject: str, body: str, language: str = "en"
) -> dict:
    kind = registry.record_kind(record_kind)
    if kind is None or not record_id:
        return {}
    record = kind.loader(record_id)
    if record is None:
        # e.g. an enrollment's id sent with About = Prospect: say which list to pick from.
        return {"preview_error": f"No such {kind.label.lower()}: choose one from the list."}
    draft = NoticeTemplate(record_kind=record_kind, subject=subject, body=body, language=language)
    rendered = notice_render(template=draft, record=record)
    return {"preview": rendered}


@staff_required("notices.change_noticetemplate")
@require_http_methods(["GET", "POST"])
def template_edit(request, pk: int | None = None):
    template = get_object_or_404(NoticeTemplate, pk=pk) if pk else NoticeTemplate()
    form = NoticeTemplateForm(request.POST or None, instance=template)
    record_kind = (
        request.POST.get("record_kind") or request.GET.get("record_kind") or template.record_kind
    )
    picker = PreviewRecordForm(request.POST or request.GET or None, record_kind=record_kind)
    # Changing "About" reloads the record picker with that kind's records (htmx); without
    # JavaScript, Preview re-renders the page with the picker for the chosen kind.
    form.fields["record_kind"].widget.attrs.update(
        {
            "hx-get": request.path,
            "hx-trigger": "change",
            "hx-target": "#preview-picker",
            "hx-swap": "outerHTML",
            "hx-include": "this",
        }
    )
    context: dict = {"form": form, "template": template, "values": registry.values()}
    if request.htmx and request.method == "GET" and "record_kind" in request.GET:
        context["picker"] = PreviewRecordForm(record_kind=record_kind)
        return render(request, "notices/template_form.html#picker", context)
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "preview":
            # Preview never saves; unknown values are reported the same way as on save.
            form.is_valid()
            if picker.is_valid():
                context.update(
                    _preview(
                        record_kind,
                        picker.cleaned_data["record_id"],
                        request.POST.get("subject", ""),
                        request.POST.get("body", ""),
                        request.POST.get("language", "en"),
                    )
                )
        elif form.is_valid():
            try:
                notice_template_save(template=form.save(commit=False))
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Template “{template.name}” saved.")
                return redirect("notices:template_edit", pk=template.pk)
        if form.errors:
            status = 422 if not request.htmx else 200
    elif picker.is_bound and picker.is_valid():
        context.update(
            _preview(
                record_kind,
                picker.cleaned_data["record_id"],
                template.subject,
                template.body,
                template.language,
            )
        )
    context["picker"] = picker
    if request.htmx and request.POST.get("action") == "preview":
        return render(request, "notices/template_form.html#preview", context, status=200)
    return render(request, "notices/template_form.html", context, status=status)


@staff_required("notices.view_letter")
def letter_list(request):
    state = request.GET.get("state") or Letter.State.QUEUED
    letters = Letter.objects.filter(state=state).order_by("created_at", "pk")[:500]
    return render(
        request,
        "notices/letter_list.html",
        {"letters": letters, "state": state, "states": Letter.State.choices},
    )


@staff_required("notices.view_letter")
def letter_detail(request, pk: int):
    letter = get_object_or_404(Letter, pk=pk)
    return render(request, "notices/letter_detail.html", {"letter": letter})


@staff_required("notices.change_letter")
@require_POST
def letter_mailed(request, pk: int):
    letter = get_object_or_404(Letter, pk=pk)
    try:
        letter_mark_mailed(letter=letter)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Letter to {letter.recipient_name} marked mailed.")
    return redirect("notices:letter_list")
