"""A confirmation step for irreversible staff actions (Release, Cancel, Opt Out, Revoke).

The action's button carries ``data-confirm="..."``: with JavaScript a modal ``<dialog>``
asks (``static/js/app.js``) and, on "Yes", the form is sent with ``confirmed=yes``. Without
JavaScript (or when the dialog was skipped) the POST arrives without it and the view answers
with a confirmation page whose form repeats the POST with ``confirmed=yes``; nothing changes
until then.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirmed"


def confirmation_response(
    request: HttpRequest,
    *,
    question: str,
    consequence: str,
    action_label: str,
    back_url: str,
    template: str = "opsadmin/confirm.html",
) -> HttpResponse | None:
    """``None`` when the POST is confirmed; else the page (or htmx partial) that asks.

    ``template``: the staff page by default; My Account passes its own (translated) one.
    """
    if request.POST.get(CONFIRM_FIELD) == "yes":
        return None
    context = {
        "question": question,
        "consequence": consequence,
        "action_label": action_label,
        "action_url": request.path,
        "back_url": back_url,
    }
    if getattr(request, "htmx", False) and template == "opsadmin/confirm.html":
        # The swap target was a table row: show the question in the page's main region.
        response = render(request, "opsadmin/confirm.html#card", context)
        response["HX-Retarget"] = "#main"
        response["HX-Reswap"] = "innerHTML"
        response["HX-Push-Url"] = "false"
        return response
    return render(request, template, context)
