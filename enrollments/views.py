"""Quick Enrollment (agents), the Signup Wizard (public) and rescission: thin views over the
draft flow (``enrollments.flow``). Each step is a form POST; htmx swaps the ``flow`` partial,
without JavaScript the same POST redirects to the page (303) and the page renders the step."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from enrollments import flow as flows
from enrollments.forms import (
    DEPOSIT_ALTERNATIVES,
    DatesForm,
    DetailsForm,
    OptionsForm,
    ReviewForm,
    SearchForm,
)
from enrollments.models import ConsentMethod, Customer, Enrollment, EnrollmentDraft
from enrollments.pricing import TOU_EFL_ASSUMPTION
from enrollments.products_extras import SESSION_KEY as OWN_USAGE_SESSION_KEY
from enrollments.products_extras import OwnUsageQuery, own_usage_pricing
from enrollments.selectors import customer_search, product_rows, promo_code_for
from enrollments.services import enrollment_rescind, plans_available
from enrollments.validators import ESIID_RE
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, Utility
from opsadmin.permissions import staff_required

AFFILIATE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Flow:
    channel: str
    ns: str
    base_template: str
    title: str | Promise


QUICK = Flow(Enrollment.Channel.QUICK, "quick", "staff_base.html", "Enroll Customer")
WIZARD = Flow(Enrollment.Channel.WIZARD, "signup", "enrollments/public_base.html", _("Sign up"))


# --- helpers ------------------------------------------------------------------------------


def _draft_for(request, flow: Flow, token: UUID) -> EnrollmentDraft:
    qs = EnrollmentDraft.objects.select_related("customer", "enrollment")
    if flow is QUICK:  # an agent's draft is theirs alone
        return get_object_or_404(qs, token=token, channel=flow.channel, created_by=request.user)
    return get_object_or_404(qs, token=token, channel=flow.channel)


def _url(flow: Flow, name: str, draft: EnrollmentDraft | None = None, **kwargs) -> str:
    if draft is not None:
        kwargs["token"] = draft.token
    return reverse(f"enrollments:{flow.ns}_{name}", kwargs=kwargs)


def _step_url(flow: Flow, draft: EnrollmentDraft, step: str) -> str:
    """Each step has its own address: F5 and Back show that step from the draft."""
    return _url(flow, "step", draft, step=step)


def _urls(flow: Flow, draft: EnrollmentDraft | None) -> dict[str, str]:
    if draft is None:
        return {"search": _url(flow, "start")}
    urls = {name: _step_url(flow, draft, name) for name in flows.STEPS}
    urls["page"] = _url(flow, "page", draft)
    if flow is QUICK:
        urls["another"] = _url(flow, "another", draft)
    urls["start"] = _url(flow, "start")
    return urls


def _context(request, flow: Flow, draft: EnrollmentDraft | None, view_step: str, **bound):
    """Everything the flow template shows for the draft at ``view_step``.

    ``bound`` carries forms with errors so they render instead of fresh ones.
    """
    data = draft.data if draft else {}
    steps = (
        flows.draft_steps(draft)
        if draft
        else [s for s in flows.STEP_LABELS if s != "customer" or flow is QUICK]
    )
    reached = steps.index(draft.step) if draft else 0
    ctx: dict = {
        "flow": flow,
        "draft": draft,
        "base_template": flow.base_template,
        "view_step": view_step,
        "steps": [
            {
                "name": s,
                "label": flows.STEP_LABELS[s],
                "index": i + 1,
                "reached": i <= reached,
                "url": _step_url(flow, draft, s) if draft else "",
            }
            for i, s in enumerate(steps)
        ],
        "urls": _urls(flow, draft),
        "attached_customer": draft.customer if draft else None,
    }
    if draft is not None and draft.enrollment_id and view_step != "done":
        view_step = ctx["view_step"] = "done"
    selection = view_step in ("search", "options", "products")
    if selection:
        # One read of the customer types: the search's choices and the products' type.
        types = list(CustomerType.objects.filter(active=True))
        ctx["search_form"] = bound.get("search_form") or SearchForm(
            channel=flow.channel,
            customer_types=[(t.code, t.local_name) for t in types],
            initial={
                "zip_code": data.get("zip_code", ""),
                "promo_code": data.get("promo_code", ""),
                "customer_type": data.get("customer_type", "residential"),
            },
        )
        ctx["affiliate"] = data.get("affiliate_code") or request.session.get("signup_affiliate", "")
        if draft and data.get("zip_code") and reached >= steps.index("options"):
            utilities = flows.draft_utilities(draft)
            ctx["utilities"] = utilities
            ctx["options_form"] = bound.get("options_form") or OptionsForm(
                channel=flow.channel,
                utilities=utilities,
                initial={
                    "utility": data.get("utility") or (utilities[0].code if utilities else ""),
                    "referral_source": data.get("referral_source", ""),
                    "consent_method": data.get("consent_method", ConsentMethod.PHONE),
                },
            )
        if draft and data.get("utility") and reached >= steps.index("products"):
            utility = next(
                (u for u in ctx.get("utilities", ()) if u.code == data["utility"]), None
            ) or Utility.objects.get(code=data["utility"])
            ctype = next(
                (t for t in types if t.code == data["customer_type"]), None
            ) or CustomerType.objects.get(code=data["customer_type"])
            tiers, rows, tdu_on_file = product_rows(
                utility=utility, customer_type=ctype, channel=flow.channel
            )
            ctx["tdu_missing"] = not tdu_on_file
            own = _own_usage(request, flow, draft, utility=utility, customer_type=ctype)
            if own is not None:
                rows = _with_own_usage(rows, own)
            ctx["own_usage"] = own
            ctx["usage_esiid"] = _usage_esiid(request, flow)
            ctx.update(
                tiers=tiers,
                rows=rows,
                tou_note=TOU_EFL_ASSUMPTION if any(r.tou for r in rows) else "",
                utility=utility,
                promo=promo_code_for(data.get("promo_code", "")),
                products_error=bound.get("products_error"),
            )
    elif view_step == "customer":
        q = request.GET.get("q", "").strip()
        ctx["q"] = q
        ctx["results"] = customer_search(query=q) if q else None
    elif view_step == "details":
        if draft is None:  # only the search step renders without a draft
            raise ValueError("the details step needs a draft")
        form = bound.get("details_form")
        if form is None:
            utility = Utility.objects.get(code=data["utility"])
            # What was saved, overlaid with what was typed on a pass that had errors.
            initial = {**data, **data.get(flows.TYPED_DETAILS, {})}
            form = DetailsForm(
                utility=utility,
                channel=flow.channel,
                existing_customer=draft.customer,
                secrets_on_file=flows.draft_secret(draft),
                initial=initial if ("esiid" in data or flows.TYPED_DETAILS in data) else None,
            )
        ctx["details_form"] = form
        ctx["credit_on_file"] = form.credit_on_file
    elif view_step == "review":
        if draft is None:  # only the search step renders without a draft
            raise ValueError("the review step needs a draft")
        ctx.update(_review_context(flow, draft, bound))
    elif view_step == "done" and draft is not None:
        ctx["enrollment"] = draft.enrollment
    ctx["unfinished"] = [
        {"draft": d, "url": _step_url(flow, d, d.step), "label": flows.STEP_LABELS[d.step]}
        for d in bound.get("unfinished", ())
    ]
    focus = {
        "search": "search_form",
        "options": "options_form",
        "details": "details_form",
        "review": "review_form",
    }.get(view_step)
    if focus in ctx:
        _autofocus(ctx[focus])
    return ctx


def _usage_esiid(request, flow: Flow) -> str:
    """Quick Enrollment: an ESIID the agent typed to price the products on its usage."""
    if flow is not QUICK:
        return ""
    value = re.sub(r"\s", "", request.GET.get("usage_esiid", ""))[:22]
    return value if ESIID_RE.fullmatch(value) else ""


def _own_usage(request, flow: Flow, draft: EnrollmentDraft, *, utility, customer_type):
    """Plan prices on the person's own usage, when some app registered a pricer and knows
    their months (see ``enrollments.products_extras``); else None."""
    tokens = tuple(str(t) for t in request.session.get(OWN_USAGE_SESSION_KEY, ()))
    esiid = _usage_esiid(request, flow) or draft.data.get("esiid", "")
    staff = flow is QUICK
    if not tokens and not (staff and esiid):
        return None  # nothing to look up: no query spent
    return own_usage_pricing(
        OwnUsageQuery(
            utility=utility,
            customer_type=customer_type,
            channel=flow.channel,
            zip_code=draft.data.get("zip_code", ""),
            esiid=esiid,
            customer_id=draft.customer_id,
            authorization_tokens=tokens,
            staff=staff,
        )
    )


def _with_own_usage(rows: list, own) -> list:
    """Rows with their own-usage prices, cheapest on the person's usage first (plans the
    pricer did not price keep their order after them)."""
    priced = [replace(r, own=own.prices.get(r.plan.code)) for r in rows]
    ranked = sorted(
        enumerate(priced),
        key=lambda ir: (ir[1].own is None, ir[1].own.annual_cost if ir[1].own else 0, ir[0]),
    )
    return [r for _rank, r in ranked]


def _autofocus(form) -> None:
    """Focus the first field with an error, else the first field (htmx honours autofocus
    on swapped content, so a keyboard user continues where the step starts)."""
    names = [n for n in form.fields if not form.fields[n].widget.is_hidden]
    errored = [n for n in names if n in form.errors] if form.is_bound else []
    target = (errored or names or [None])[0]
    if target:
        form.fields[target].widget.attrs["autofocus"] = True


def _review_context(flow: Flow, draft: EnrollmentDraft, bound: dict) -> dict:
    data = draft.data
    secret = flows.draft_secret(draft)
    consent = ConsentMethod.objects.filter(code=data.get("consent_method", "")).first()
    utility = Utility.objects.get(code=data["utility"])
    plan = next(
        (
            p
            for p in plans_available(
                utility=utility,
                customer_type=CustomerType.objects.get(code=data["customer_type"]),
                channel=flow.channel,
            )
            if p.code == data["plan"]
        ),
        None,
    )
    return {
        "summary_plan": plan,
        "summary_utility": utility,
        "summary_consent": consent,
        "summary_promo": promo_code_for(data.get("promo_code", "")),
        "secret_ssn_last4": (secret.get("ssn") or "")[-4:],
        "secret_dob_on_file": bool(secret.get("date_of_birth")),
        "secret_license_last2": (secret.get("drivers_license") or "")[-2:],
        "summary_referral": data.get("referral_source", ""),
        "summary_deposit": dict(DEPOSIT_ALTERNATIVES).get(data.get("deposit_alternative") or ""),
        "dates_form": bound.get("dates_form")
        or DatesForm(
            initial={
                "enrollment_type": data.get("enrollment_type"),
                "requested_start_date": data.get("requested_start_date"),
            }
        ),
        "review_form": bound.get("review_form")
        or ReviewForm(
            channel=flow.channel,
            needs_document=bool(consent and consent.requires_document),
            initial={"idempotency_token": str(draft.token)},
        ),
        "review_error": bound.get("review_error"),
    }


def _render(request, flow, draft, view_step, status=200, **bound):
    ctx = _context(request, flow, draft, view_step, **bound)
    htmx = request.htmx
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        response = render(request, "enrollments/flow.html#flow", ctx, status=200)
        if draft is not None:
            # The address bar follows the step shown (hx-push-url), so F5 and Back work.
            url = _step_url(flow, draft, ctx["view_step"])
            current = urlsplit(htmx.current_url or "").path
            if current != url:
                push_url(response, url)
    else:
        response = render(request, "enrollments/flow.html", ctx, status=status)
    # Back and F5 always ask the server (the draft is the truth), and no cache keeps a page
    # holding a person's details.
    add_never_cache_headers(response)
    return response


def _after_step(request, flow, draft, **bound):
    """A step succeeded: htmx gets the next step's partial, a plain POST a redirect to the
    next step's address."""
    if request.htmx:
        return _render(request, flow, draft, draft.step, **bound)
    step = "done" if draft.enrollment_id else draft.step
    return HttpResponseRedirect(_step_url(flow, draft, step), status=303)


def _invalid(request, flow, draft, step, **bound):
    return _render(request, flow, draft, step, status=422, **bound)


def _step_request(request, flow: Flow, draft: EnrollmentDraft) -> flows.StepRequest:
    wizard = flow is WIZARD
    return flows.StepRequest(
        actor=request.user if request.user.is_authenticated else None,
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("user-agent", ""),
        base_url=request.build_absolute_uri("/"),
        affiliate=_affiliate(request, flow),
        resume_link=request.build_absolute_uri(_url(flow, "page", draft)) if wizard else "",
    )


# --- the steps ----------------------------------------------------------------------------


def _start(request, flow: Flow, *, customer: Customer | None = None):
    """GET: an empty zip search. POST: the zip search, which creates the draft."""
    if request.method == "GET":
        if flow is WIZARD:
            code = request.GET.get("affiliate") or request.GET.get("campaign") or ""
            if AFFILIATE_RE.fullmatch(code):
                request.session["signup_affiliate"] = code
        unfinished = []
        if flow is QUICK:  # what this agent left half-way: nothing typed is lost
            unfinished = list(
                EnrollmentDraft.objects.filter(
                    channel=flow.channel, created_by=request.user, enrollment__isnull=True
                )
                .exclude(step="search")
                .order_by("-updated_at")[:5]
            )
        return _render(request, flow, None, "search", unfinished=unfinished)
    form = SearchForm(request.POST, channel=flow.channel)
    if not form.is_valid():
        return _invalid(request, flow, None, "search", search_form=form)
    draft = flows.draft_create(channel=flow.channel, actor=request.user, customer=customer)
    return _save(request, flow, draft, flows.STEPS["search"], form)


def _affiliate(request, flow: Flow) -> str:
    if flow is not WIZARD:
        return ""
    affiliate = request.POST.get("affiliate", "") or request.session.get("signup_affiliate", "")
    return affiliate if AFFILIATE_RE.fullmatch(affiliate) else ""


def _page(request, flow: Flow, token: UUID):
    """The draft at the step it reached (the resume link), or at ``?step=``."""
    draft = _draft_for(request, flow, token)
    view_step = request.GET.get("step", draft.step)
    spec = flows.STEPS.get(view_step)
    if spec is None or not spec.in_path or not spec.can_enter(draft):
        view_step = draft.step
    return _show(request, flow, draft, view_step)


def _show(request, flow: Flow, draft: EnrollmentDraft, view_step: str):
    if view_step == "customer" and request.htmx and "q" in request.GET:
        q = request.GET["q"].strip()
        return render(
            request,
            "enrollments/steps/customer.html#customer_results",
            {
                "results": customer_search(query=q),
                "q": q,
                "flow": flow,
                "draft": draft,
                "urls": _urls(flow, draft),
            },
        )
    return _render(request, flow, draft, view_step)


def _step(request, flow: Flow, token: UUID, step: str):
    """GET: the step from the draft (a step not reachable yet sends the person to the
    furthest one they may see). POST: the step's form, through the step table."""
    spec = flows.STEPS.get(step)
    if spec is None:
        raise Http404("No such step.")
    draft = _draft_for(request, flow, token)
    if request.method == "GET":
        if draft.enrollment_id and step != "done":
            return redirect(_step_url(flow, draft, "done"))
        if not spec.in_path:  # an action of another step (the dates: the review)
            return redirect(_step_url(flow, draft, "review"))
        if not spec.can_enter(draft):
            return redirect(_step_url(flow, draft, flows.draft_furthest_step(draft)))
        return _show(request, flow, draft, step)
    if draft.enrollment_id:  # already submitted: show the result, never a second enrollment
        return _after_step(request, flow, draft)
    if step == "done" or not spec.can_enter(draft):
        raise Http404("No such step yet.")
    form = spec.form(draft, request.POST, request.FILES)
    return _save(request, flow, draft, spec, form)


def _save(request, flow: Flow, draft: EnrollmentDraft, spec: flows.Step, form):
    """Validate the step's form; keep what may be kept when it has errors; else save it.
    Everything particular to a step is in the step table (``enrollments.flow.STEPS``)."""
    shown = spec.shown_after_error or spec.name
    if not form.is_valid():
        spec.keep(draft, form)
        flash = spec.error_flash(form)
        if flash:
            messages.error(request, flash)
        return _invalid(request, flow, draft, shown, **spec.error_context(form))
    try:
        spec.save(draft, form, _step_request(request, flow, draft))
    except ApplicationError as exc:
        return _invalid(request, flow, draft, shown, **{spec.form_key: form}, review_error=exc)
    if spec.saved_message:
        messages.success(request, str(spec.saved_message))
    if spec.show_form_after_save:
        return _after_step(request, flow, draft, **{spec.form_key: form})
    return _after_step(request, flow, draft)


# --- Quick Enrollment (staff) -------------------------------------------------------------


@staff_required("enrollments.add_enrollment")
@require_http_methods(["GET", "POST"])
def quick_start(request):
    return _start(request, QUICK)


@staff_required("enrollments.add_enrollment")
@require_GET
def quick_page(request, token: UUID):
    return _page(request, QUICK, token)


@staff_required("enrollments.add_enrollment")
@require_http_methods(["GET", "POST"])
def quick_step(request, token: UUID, step: str):
    return _step(request, QUICK, token, step)


@staff_required("enrollments.add_enrollment")
@require_POST
def quick_another(request, token: UUID):
    """Enroll another account for this customer: start again with the customer attached."""
    done = _draft_for(request, QUICK, token)
    if done.enrollment is None:  # no query when enrollment_id is unset
        raise Http404("Submit this enrollment first.")
    draft = flows.draft_create(
        channel=QUICK.channel, actor=request.user, customer=done.enrollment.customer
    )
    # Same zip, customer type and consent as the first account: the agent can change them.
    keep = {
        k: done.data[k]
        for k in ("zip_code", "customer_type", "consent_method", "referral_source")
        if k in done.data
    }
    draft.data = {**keep, "attached": True}
    draft.save(update_fields=["data"])
    url = _url(QUICK, "page", draft)
    if request.htmx:  # swap in the new draft's first step; the address bar follows
        return push_url(_render(request, QUICK, draft, draft.step), url)
    return HttpResponseRedirect(url, status=303)


# --- Signup Wizard (public) ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup_start(request):
    return _start(request, WIZARD)


@require_GET
def signup_page(request, token: UUID):
    return _page(request, WIZARD, token)


@require_http_methods(["GET", "POST"])
def signup_step(request, token: UUID, step: str):
    return _step(request, WIZARD, token, step)


# --- rescission ---------------------------------------------------------------------------


@staff_required("enrollments.add_enrollment")
@require_POST
def enrollment_rescind_view(request, pk: int):
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("service_account__utility"), pk=pk
    )
    try:
        enrollment_rescind(enrollment=enrollment, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Enrollment {pk} rescinded; a cancel with no ETF went to billing."
        )
    nxt = request.POST.get("next", "")
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = reverse("enrollments:quick_start")
    return redirect(nxt)
