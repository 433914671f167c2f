"""Renewal Notices screen, its Excel export (direct or via Celery with progress), setup."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from opsadmin import clock
from opsadmin.permissions import staff_required
from renewals.export import write_renewal_export
from renewals.forms import FilterForm, RenewalSetupForm
from renewals.models import RenewalExport, RenewalSetup
from renewals.selectors import renewal_notice_page_rows, renewal_notice_rows, renewal_notices
from renewals.services import SYNC_EXPORT_MAX_ROWS, renewal_export_request

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@staff_required("renewals.view_renewalnotice")
def notice_list(request):
    form = FilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(renewal_notice_page_rows(filters=filters), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    if request.htmx:
        return render(request, "renewals/list.html#results", context)
    return render(request, "renewals/list.html", context)


@staff_required("renewals.export_renewalnotice")
@require_POST
def export(request):
    form = FilterForm(request.POST)
    filters = form.filters()
    if renewal_notices(filters=filters).count() > SYNC_EXPORT_MAX_ROWS:
        job = renewal_export_request(filters=filters, user=request.user)
        return redirect("renewals:export_status", pk=job.pk)
    # Small: build it now into a temporary file (bounded memory either way).
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  FileResponse closes it
    write_renewal_export(rows=renewal_notice_rows(filters=filters), out=spool)
    spool.seek(0)
    name = f"renewal-notices-{clock.today():%Y%m%d}.xlsx"
    return FileResponse(spool, as_attachment=True, filename=name, content_type=XLSX)


@staff_required("renewals.export_renewalnotice")
def export_status(request, pk: int):
    job = get_object_or_404(RenewalExport, pk=pk)
    if request.htmx:
        return render(request, "renewals/export_status.html#progress", {"job": job})
    return render(request, "renewals/export_status.html", {"job": job})


@staff_required("renewals.export_renewalnotice")
def export_download(request, pk: int):
    job = get_object_or_404(RenewalExport, pk=pk, state=RenewalExport.State.DONE)
    path = (Path(settings.MEDIA_ROOT) / job.file_path).resolve()
    if not job.file_path or not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"renewal-notices-{job.pk}.xlsx",
        content_type=XLSX,
    )


@staff_required("renewals.change_renewalsetup")
@require_http_methods(["GET", "POST"])
def setup(request):
    form = RenewalSetupForm(request.POST or None, instance=RenewalSetup.load())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Renewal notice schedule saved.")
        return redirect("renewals:setup")
    status = 422 if request.method == "POST" else 200
    return render(request, "renewals/setup.html", {"form": form}, status=status)
