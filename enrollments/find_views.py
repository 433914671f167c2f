"""Staff screens to find an enrollment and to see one customer with all their accounts."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from enrollments.search import EnrollmentFindForm, customer_overview, enrollment_search_page
from opsadmin.permissions import staff_required


@staff_required("enrollments.view_enrollment")
@require_GET
def enrollment_list(request):
    """Enrollments > Find an enrollment: one search box, filters, pages of 25 rows."""
    form = EnrollmentFindForm(request.GET or None)
    page = enrollment_search_page(form=form, page_number=request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "searched": bool(request.GET.get("q", "").strip()),
        "query_string": params.urlencode(),
    }
    template = "enrollments/find.html#results" if request.htmx else "enrollments/find.html"
    return render(request, template, context)


@staff_required(("enrollments.view_customer", "enrollments.view_enrollment"))
@require_GET
def customer_detail(request, pk: int):
    """A customer's contact data, every premise and every enrollment, each linked."""
    return render(request, "enrollments/customer.html", {"overview": customer_overview(pk=pk)})
