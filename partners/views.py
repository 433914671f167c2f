"""Ops screens: Sales Importer (upload, progress, history, errors) and partner API keys."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsadmin.confirm import confirmation_response
from opsadmin.errors import ApplicationError
from opsadmin.permissions import staff_required
from partners import selectors, services
from partners.forms import ApiKeyCreateForm, ImportUploadForm
from partners.importfile import COLUMNS, max_bytes
from partners.models import ImportBatch, PartnerApiKey

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_response(filename: str, header: list[str], rows: list[list[str]]) -> HttpResponse:
    """A workbook whose every cell is text: a value starting with '=' stays text (never a
    formula in the file we hand out)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    for values in [header, *rows]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=str(value))
            cell.data_type = "s"
            cells.append(cell)
        ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_required("partners.view_importbatch")
@require_http_methods(["GET", "POST"])
def imports(request):
    form = ImportUploadForm()
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("partners.add_importbatch"):
            raise PermissionDenied("You may not import sales files.")
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                # Read no more than the limit allows (+1 byte, so the size check sees it).
                content = upload.read(max_bytes() + 1)
                batch = services.import_batch_create(
                    partner=form.cleaned_data["partner"],
                    file_name=upload.name,
                    content=content,
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, f"{batch.file_name}: {batch.total_rows} rows queued.")
                return redirect("partners:import_detail", pk=batch.pk)
        status = 422
    return render(
        request,
        "partners/imports.html",
        {"form": form, "batches": selectors.import_batches(), "columns": COLUMNS},
        status=status,
    )


@staff_required("partners.view_importbatch")
@require_GET
def import_template(request, fmt: str):
    header = [c.name for c in COLUMNS]
    example = [c.example for c in COLUMNS]
    if fmt == "xlsx":
        return _xlsx_response("sales-import-template.xlsx", header, [example])
    if fmt != "csv":
        raise Http404("No such template.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(example)
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sales-import-template.csv"'
    return response


def _batch(pk: int) -> ImportBatch:
    return get_object_or_404(
        ImportBatch.objects.defer("content").select_related("partner", "uploaded_by"), pk=pk
    )


@staff_required("partners.view_importbatch")
@require_GET
def import_detail(request, pk: int):
    batch = _batch(pk)
    errors = batch.row_errors.all()[:200] if batch.is_finished else []
    return render(request, "partners/import_detail.html", {"batch": batch, "errors": errors})


@staff_required("partners.view_importbatch")
@require_GET
def import_progress(request, pk: int):
    """The progress region; htmx polls it while the import runs."""
    batch = _batch(pk)
    if request.htmx:
        return render(request, "partners/import_detail.html#progress", {"batch": batch})
    return redirect("partners:import_detail", pk=pk)


@staff_required("partners.view_importbatch")
@require_GET
def import_errors_xlsx(request, pk: int):
    batch = _batch(pk)
    header, rows = selectors.import_error_rows(batch=batch)
    return _xlsx_response(f"import-{batch.pk}-errors.xlsx", header, rows)


@staff_required("partners.view_partnerapikey")
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyCreateForm()
    new_key = None
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("partners.add_partnerapikey"):
            raise PermissionDenied("You may not create API keys.")
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            try:
                partner, _ = services.partner_get_or_create(name=form.cleaned_data["partner"])
            except ApplicationError as exc:
                form.add_error("partner", exc.message)
                status = 422
            else:
                key, raw = services.api_key_create(
                    partner=partner, label=form.cleaned_data["label"], actor=request.user
                )
                # Rendered once, never stored: no redirect, so the key is not in a URL or session.
                new_key = {"key": key, "raw": raw}
                form = ApiKeyCreateForm()
        else:
            status = 422
    response = render(
        request,
        "partners/keys.html",
        {"form": form, "keys": selectors.api_keys(), "new_key": new_key},
        status=status,
    )
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@staff_required("partners.change_partnerapikey")
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(PartnerApiKey, pk=pk)
    asked = confirmation_response(
        request,
        question=f"Revoke key {key.prefix}… of {key.partner}?",
        consequence="Every request made with this key is refused from now on; a revoked key "
        "cannot be turned back on (issue a new one instead).",
        action_label="Revoke key",
        back_url=reverse("partners:keys"),
    )
    if asked is not None:
        return asked
    services.api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"Key {key.prefix}… of {key.partner} revoked.")
    return redirect("partners:keys")
