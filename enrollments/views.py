"""Quick Enrollment (agents), the Signup Wizard (public) and rescission: thin views over the
draft flow (``enrollments.flow``). Each step is a form POST; htmx swaps the ``flow`` partial,
without JavaScript the same POST redirects to the page (303) and the page renders the step."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.hashers import make_password
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from enrollments import flow as flows
from enrollments.forms import DatesForm, DetailsForm, OptionsForm, ReviewForm, SearchForm
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


def _urls(flow: Flow, draft: EnrollmentDraft | None) -> dict[str, str]:
    if draft is None:
        return {"search": _url(flow, "start")}
    urls = {
        s: _url(flow, "step", draft, step=s)
        for s in ("search", "options", "products", "customer", "details", "dates", "review")
    }
    urls["page"] = _url(flow, "page", draft)
    if flow is QUICK:
        urls["another"] = _url(flow, "another", draft)
    urls["start"] = _url(flow, "start")
    return urls


def _utilities(zip_code: str, request=None) -> list[Utility]:
    memo = getattr(request, "_enroll_utilities", None) if request is not None else None
    if memo is not None and memo[0] == zip_code:
        return memo[1]
    utilities = list(
        Utility.objects.filter(active=True, service_areas__zip_code=zip_code).order_by("name")
    )
    if request is not None:
        request._enroll_utilities = (zip_code, utilities)
    return utilities


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
            {"name": s, "label": flows.STEP_LABELS[s], "index": i + 1, "reached": i <= reached}
            for i, s in enumerate(steps)
        ],
        "urls": _urls(flow, draft),
        "attached_customer": draft.customer if draft else None,
    }
    if draft is not None and draft.enrollment_id and view_step != "done":
        view_step = ctx["view_step"] = "done"
    selection = view_step in ("search", "options", "products")
    if selection:
        ctx["search_form"] = bound.get("search_form") or SearchForm(
            channel=flow.channel,
            initial={
                "zip_code": data.get("zip_code", ""),
                "promo_code": data.get("promo_code", ""),
                "customer_type": data.get("customer_type", "residential"),
            },
        )
        ctx["affiliate"] = data.get("affiliate_code") or request.session.get("signup_affiliate", "")
        if draft and data.get("zip_code") and reached >= steps.index("options"):
            utilities = _utilities(data["zip_code"], request)
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
            ctype = CustomerType.objects.get(code=data["customer_type"])
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
        utility = Utility.objects.get(code=data["utility"])
        initial = dict(data)
        ctx["details_form"] = bound.get("details_form") or DetailsForm(
            utility=utility,
            channel=flow.channel,
            existing_customer=draft.customer,
            initial=initial if "esiid" in data else None,
        )
        ctx["credit_on_file"] = bool(
            flows.draft_secret(draft).get("ssn") or data.get("deposit_alternative")
        )
    elif view_step == "review":
        if draft is None:  # only the search step renders without a draft
            raise ValueError("the review step needs a draft")
        ctx.update(_review_context(flow, draft, bound))
    elif view_step == "done" and draft is not None:
        ctx["enrollment"] = draft.enrollment
    ctx["unfinished"] = [
        {"draft": d, "url": _url(flow, "page", d), "label": flows.STEP_LABELS[d.step]}
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
        "secret_ssn_last4": (flows.draft_secret(draft).get("ssn") or "")[-4:],
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
    if request.htmx and not request.htmx.boosted:
        return render(request, "enrollments/flow.html#flow", ctx, status=200)
    return render(request, "enrollments/flow.html", ctx, status=status)


def _after_step(request, flow, draft, **bound):
    """A step succeeded: htmx gets the next step's partial, a plain POST a redirect."""
    if request.htmx:
        return _render(request, flow, draft, draft.step, **bound)
    return HttpResponseRedirect(_url(flow, "page", draft), status=303)


def _invalid(request, flow, draft, step, **bound):
    return _render(request, flow, draft, step, status=422, **bound)


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
    return _step_search_save(request, flow, draft, form)


def _step_search_save(request, flow, draft, form):
    data = {
        "zip_code": form.cleaned_data["zip_code"],
        "promo_code": form.cleaned_data["promo_code"],
        "customer_type": form.cleaned_data["customer_type"],
    }
    if flow is WIZARD:
        affiliate = request.POST.get("affiliate", "") or request.session.get("signup_affiliate", "")
        if AFFILIATE_RE.fullmatch(affiliate):
            data["affiliate_code"] = affiliate
    changed = draft.data.get("zip_code") != data["zip_code"]
    flows.draft_save_step(
        draft=draft, step="search", data=data, clear=("utility", "plan") if changed else ("plan",)
    )
    return _after_step(request, flow, draft)


def _page(request, flow: Flow, token: UUID):
    draft = _draft_for(request, flow, token)
    steps = flows.draft_steps(draft)
    view_step = request.GET.get("step", draft.step)
    if view_step not in steps or steps.index(view_step) > steps.index(draft.step):
        view_step = draft.step
    if view_step == "customer" and request.htmx and "q" in request.GET:
        q = request.GET["q"].strip()
        return render(
            request,
            "enrollments/flow.html#customer_results",
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
    draft = _draft_for(request, flow, token)
    if draft.enrollment_id:  # already submitted: show the result, never a second enrollment
        return _after_step(request, flow, draft)
    steps = flows.draft_steps(draft)
    if step != "dates" and (step not in steps or steps.index(step) > steps.index(draft.step)):
        raise Http404("No such step yet.")
    data = draft.data
    if step == "search":
        form = SearchForm(request.POST, channel=flow.channel)
        if not form.is_valid():
            return _invalid(request, flow, draft, "search", search_form=form)
        return _step_search_save(request, flow, draft, form)
    if step == "options":
        options_form = OptionsForm(
            request.POST, utilities=_utilities(data["zip_code"], request), channel=flow.channel
        )
        if not options_form.is_valid():
            return _invalid(request, flow, draft, "options", options_form=options_form)
        consent = options_form.cleaned_data.get("consent_method")
        referral = options_form.cleaned_data.get("referral_source")
        flows.draft_save_step(
            draft=draft,
            step="options",
            data={
                "utility": options_form.cleaned_data["utility"],
                "referral_source": referral or "",
                "consent_method": consent or ConsentMethod.WEB,
            },
            clear=("plan",),
        )
        return _after_step(request, flow, draft, options_form=options_form)
    if step == "products":
        code = request.POST.get("plan", "")
        available = {
            p.code
            for p in plans_available(
                utility=Utility.objects.get(code=data["utility"]),
                customer_type=CustomerType.objects.get(code=data["customer_type"]),
                channel=flow.channel,
            )
        }
        if code not in available:
            return _invalid(
                request, flow, draft, "products", products_error=_("Choose a plan from the table.")
            )
        flows.draft_save_step(draft=draft, step="products", data={"plan": code})
        return _after_step(request, flow, draft)
    if step == "customer":
        choice = request.POST.get("customer", "")
        if choice == "new":
            draft.customer = None
        else:
            draft.customer = Customer.objects.filter(
                pk=int(choice) if choice.isdigit() else 0
            ).first()
            if draft.customer is None:
                messages.error(request, _("Choose New customer or a customer from the search."))
                return _invalid(request, flow, draft, "customer")
        flows.draft_save_step(draft=draft, step="customer", data={"customer_choice": choice})
        return _after_step(request, flow, draft)
    if step == "details":
        return _step_details(request, flow, draft)
    if step == "dates":
        dates_form = DatesForm(request.POST)
        if draft.step != "review":
            raise Http404("No such step yet.")
        if not dates_form.is_valid():
            return _invalid(request, flow, draft, "review", dates_form=dates_form)
        flows.draft_save_step(
            draft=draft,
            step="review",
            data={
                "enrollment_type": dates_form.cleaned_data["enrollment_type"],
                "requested_start_date": dates_form.cleaned_data["requested_start_date"].isoformat(),
            },
        )
        draft.step = "review"
        draft.save(update_fields=["step", "updated_at"])
        messages.success(request, _("Enrollment dates changed."))
        return _after_step(request, flow, draft)
    if step == "review":
        return _step_review(request, flow, draft)
    raise Http404("No such step.")


def _step_details(request, flow, draft):
    utility = Utility.objects.get(code=draft.data["utility"])
    secret_on_file = flows.draft_secret(draft)
    form = DetailsForm(
        request.POST,
        utility=utility,
        channel=flow.channel,
        existing_customer=draft.customer,
        credit_on_file=bool(secret_on_file.get("ssn") and secret_on_file.get("date_of_birth")),
    )
    if not form.is_valid():
        return _invalid(request, flow, draft, "details", details_form=form)
    cd = form.cleaned_data
    secret_keys = DetailsForm.SECRET_FIELDS
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in cd.items()
        if k not in secret_keys and not k.startswith("password")
    }
    secret = {
        "ssn": cd.get("ssn", ""),
        "date_of_birth": cd["date_of_birth"].isoformat() if cd.get("date_of_birth") else "",
        "drivers_license": cd.get("drivers_license", ""),
    }
    if cd.get("password1"):
        secret["password_hash"] = make_password(cd["password1"])
    if draft.customer is None:
        draft.email = cd["email"]
    flows.draft_save_step(draft=draft, step="details", data=data, secret=secret)
    if flow is WIZARD:
        flows.draft_resume_email_send(
            draft=draft, link=request.build_absolute_uri(_url(flow, "page", draft))
        )
    return _after_step(request, flow, draft)


def _step_review(request, flow, draft):
    consent = ConsentMethod.objects.filter(code=draft.data.get("consent_method", "")).first()
    form = ReviewForm(
        request.POST,
        request.FILES,
        channel=flow.channel,
        needs_document=bool(consent and consent.requires_document),
    )
    if not form.is_valid():
        return _invalid(request, flow, draft, "review", review_form=form)
    try:
        flows.draft_submit(
            draft=draft,
            token=form.cleaned_data["idempotency_token"],
            actor=request.user if request.user.is_authenticated else None,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.headers.get("user-agent", ""),
            signed_contract=form.cleaned_data.get("signed_contract"),
            acknowledgements=tuple(form.acknowledged()),
            base_url=request.build_absolute_uri("/"),
        )
    except ApplicationError as exc:
        return _invalid(request, flow, draft, "review", review_form=form, review_error=exc)
    return _after_step(request, flow, draft)  # draft_submit brought ``draft`` up to date


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
@require_POST
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


@require_POST
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
