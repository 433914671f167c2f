"""The Enrollment API for sales partners (django-ninja), mounted at /api/v1/.

Keys: ``Authorization: Bearer KEY`` (one partner per key). Errors are RFC 9457
``application/problem+json`` everywhere, including request validation (422), auth (401),
rate limit (429) and unknown paths (404).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Header, NinjaAPI, Path, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from enrollments.models import Enrollment
from enrollments.services import (
    enrollment_rescindable,
    enrollment_rescission_deadline,
    plans_available,
)
from enrollments.validators import validate_esiid_for_utility
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, ServiceArea, Utility
from partners import selectors, services
from partners.models import IdempotencyRecord, PartnerApiKey

logger = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
SLUG = r"^[A-Za-z0-9_-]{1,40}$"
PROBLEM_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


def problem(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> HttpResponse:
    body: dict = {"type": type_, "title": PROBLEM_TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


def rate_limit_per_minute() -> int:
    return int(getattr(settings, "PARTNERS_API_RATE_LIMIT", 120))


def _clock() -> float:
    return time.time()


def _check_rate(key: PartnerApiKey) -> None:
    """Fixed one-minute window per key, counted in Redis (shared by every web process)."""
    now = _clock()
    window = int(now // 60)
    # keyed by the key's hash, not its id: ids repeat across test databases, hashes do not
    cache_key = f"partners:rl:{key.key_hash[:24]}:{window}"
    cache.add(cache_key, 0, timeout=120)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=120)
        count = 1
    if count > rate_limit_per_minute():
        raise RateLimited(retry_after=60 - int(now) % 60)


class PartnerKeyAuth(HttpBearer):
    """Bearer key -> the partner's key; never logs what was presented."""

    def __call__(self, request: HttpRequest):
        value = request.headers.get("Authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        key = services.api_key_authenticate(raw_key=token)
        if key is None:
            return None
        _check_rate(key)
        request.partner = key.partner  # type: ignore[attr-defined]
        return key


class ProblemApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """Error responses are declared as application/problem+json (RFC 9457)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(code).isdigit() and int(code) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM: content["application/json"]}
        return schema


api = ProblemApi(
    title="OpsAdmin Enrollment API",
    version="1.0.0",
    description=(
        "For sales partners, TPV vendors and shopping sites. Authenticate with "
        "`Authorization: Bearer <key>` (keys come from Ops). Errors are RFC 9457 problem "
        "details. Create accepts an `Idempotency-Key` header."
    ),
    auth=PartnerKeyAuth(),
    urls_namespace="partners_api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ())]
        errors.append(
            {"field": ".".join(loc[1:]) or ".".join(loc), "message": error.get("msg", "")}
        )
    return problem(422, "The request is not valid.", errors=errors)


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    status = 409 if exc.code in ("not_cancellable", "rescission_over", "bad_transition") else 422
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
    return problem(
        status, exc.message, type_=f"urn:opsadmin:problem:{exc.code or 'invalid'}", errors=errors
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return problem(
        401,
        "Send a valid API key as 'Authorization: Bearer <key>'.",
        headers={"WWW-Authenticate": 'Bearer realm="opsadmin"'},
    )


@api.exception_handler(RateLimited)
def _rate_limited(request, exc: RateLimited):
    return problem(
        429,
        f"Rate limit of {rate_limit_per_minute()} requests a minute reached.",
        headers={"Retry-After": str(max(exc.retry_after, 1))},
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem(404, "Not found.")


@api.exception_handler(Enrollment.DoesNotExist)
def _enrollment_not_found(request, exc):
    return problem(404, "No such enrollment.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return problem(exc.status_code, str(exc))


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("partners.api_error", extra={"path": request.path})
    return problem(500, "Something went wrong on our side.")


# --- schemas -----------------------------------------------------------------------------


class ProblemError(Schema):
    field: str | None = None
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemError] | None = None


class PlanOut(Schema):
    code: str
    name: str
    utility_code: str
    is_web_plan: bool
    rate_type: str
    term_months: int
    energy_charge_cents: str = Field(description="Cents per kWh, decimal string.")
    base_fee: str = Field(description="Dollars per month, decimal string.")
    etf_type: str
    etf_amount: str


class UtilityOut(Schema):
    code: str
    name: str
    market: str


class ServiceAreaOut(Schema):
    zip_code: str
    served: bool
    utilities: list[UtilityOut]


class EsiidCheckOut(Schema):
    esiid: str
    utility_code: str | None
    valid: bool
    available: bool
    message: str


EnrollmentTypeLit = Literal["switch", "move_in"]
StatusLit = Literal[
    "draft",
    "submitted",
    "pending",
    "accepted",
    "rejected",
    "active",
    "dropped",
    "moved_out",
    "rescinded",
    "cancelled",
]


class EnrollmentIn(Schema):
    partner_reference: str = Field("", max_length=60)
    zip_code: str = Field(..., pattern=r"^\d{5}$")
    utility_code: str = Field(..., pattern=SLUG)
    customer_type_code: str = Field(..., pattern=SLUG)
    plan_code: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,30}$")
    first_name: str = Field(..., min_length=1, max_length=60)
    last_name: str = Field(..., min_length=1, max_length=60)
    company_name: str = Field("", max_length=120)
    email: str = Field(..., min_length=3, max_length=254)
    phone: str = Field("", max_length=20)
    esiid: str = Field(..., pattern=r"^[0-9A-Za-z]{1,30}$")
    meter_number: str = Field("", max_length=40)
    address_line1: str = Field(..., min_length=1, max_length=120)
    address_line2: str = Field("", max_length=120)
    city: str = Field(..., min_length=1, max_length=60)
    state: str = Field("TX", pattern=r"^[A-Za-z]{2}$")
    enrollment_type: EnrollmentTypeLit = "switch"
    requested_start_date: date | None = None
    language: Literal["en", "es"] = "en"
    notice_preference: Literal["email", "letter"] = "email"
    date_of_birth: date | None = None
    ssn: str = Field("", pattern=r"^(\d{9}|\d{3}-\d{2}-\d{4})?$")
    billing_address_line1: str = Field("", max_length=120)
    billing_city: str = Field("", max_length=60)
    billing_state: str = Field("", pattern=r"^([A-Za-z]{2})?$")
    billing_zip: str = Field("", pattern=r"^(\d{5}(-\d{4})?)?$")
    consent_method: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,30}$")
    promo_code: str = Field("", max_length=30)
    referral_source: str = Field("", max_length=60)
    affiliate_code: str = Field("", max_length=40)
    critical_care: bool = False


class EnrollmentOut(Schema):
    id: int
    status: StatusLit
    channel: str
    partner_reference: str
    plan_code: str
    utility_code: str
    esiid: str
    zip_code: str
    enrollment_type: EnrollmentTypeLit
    requested_start_date: date | None
    created_at: datetime
    submitted_at: datetime | None
    rejection_reason: str | None = Field(None, description="Set when status is rejected.")
    billing_account_number: str | None = Field(
        None, description="Set once the billing system has accepted the enrollment."
    )
    rescission_deadline: date | None = Field(
        None, description="Last day a cancel is accepted (3 federal business days)."
    )
    cancellable: bool
    service_start_date: date | None = Field(
        None, description="The day service began (ERCOT completed the switch or move-in)."
    )
    contract_end_date: date | None = Field(
        None, description="Set when service starts; empty for month-to-month plans."
    )
    service_end_date: date | None = Field(
        None, description="The last day of service after a drop or move-out took effect."
    )


class EnrollmentPage(Schema):
    items: list[EnrollmentOut]
    count: int
    page: int
    page_size: int


class CancelIn(Schema):
    reason: str = Field("", max_length=500)


ERRORS = {400: Problem, 401: Problem, 422: Problem, 429: Problem}


def enrollment_out(enrollment: Enrollment) -> dict:
    link = getattr(enrollment, "partner_link", None)
    premise = enrollment.service_account
    accepted = enrollment.status in (Enrollment.Status.ACCEPTED, Enrollment.Status.ACTIVE)
    deadline = enrollment_rescission_deadline(enrollment)

    return {
        "id": enrollment.pk,
        "status": enrollment.status,
        "channel": enrollment.channel,
        "partner_reference": link.partner_reference if link else "",
        "plan_code": enrollment.plan.code,
        "utility_code": premise.utility.code,
        "esiid": premise.esiid,
        "zip_code": premise.zip_code,
        "enrollment_type": enrollment.enrollment_type,
        "requested_start_date": enrollment.requested_start_date,
        "created_at": enrollment.created_at,
        "submitted_at": enrollment.submitted_at,
        "rejection_reason": enrollment.rejection_reason
        if enrollment.status == Enrollment.Status.REJECTED
        else None,
        "billing_account_number": (enrollment.billing_account_number or None) if accepted else None,
        "rescission_deadline": deadline,
        "cancellable": enrollment_rescindable(enrollment),
        "service_start_date": enrollment.service_start_date,
        "contract_end_date": enrollment.contract_end_date,
        "service_end_date": enrollment.service_end_date,
    }


# --- endpoints ---------------------------------------------------------------------------


@api.get("/plans", response={200: list[PlanOut], **ERRORS}, tags=["reference"])
def list_plans(
    request,
    zip_code: str = Query(..., pattern=r"^\d{5}$"),
    customer_type_code: str = Query(..., pattern=SLUG),
    utility_code: str | None = Query(None, pattern=SLUG),
):
    """Plans this partner may sell at a zip (web and non-web plans)."""
    customer_type = CustomerType.objects.filter(code=customer_type_code, active=True).first()
    if customer_type is None:
        raise ApplicationError("Unknown customer type.", field="customer_type_code")
    utilities = Utility.objects.filter(service_areas__zip_code=zip_code, active=True)
    if utility_code:
        utilities = utilities.filter(code=utility_code)
    out = []
    for utility in utilities.order_by("code"):
        for plan in plans_available(
            utility=utility, customer_type=customer_type, channel=Enrollment.Channel.API
        ):
            out.append(
                {
                    "code": plan.code,
                    "name": plan.name,
                    "utility_code": utility.code,
                    "is_web_plan": plan.is_web_plan,
                    "rate_type": plan.rate_type,
                    "term_months": plan.term_months,
                    "energy_charge_cents": str(plan.energy_charge_cents),
                    "base_fee": str(plan.base_fee),
                    "etf_type": plan.etf_type,
                    "etf_amount": str(plan.etf_amount),
                }
            )
    return out


@api.get("/service-areas/{zip_code}", response={200: ServiceAreaOut, **ERRORS}, tags=["reference"])
def service_area(request, zip_code: str = Path(..., pattern=r"^\d{5}$")):
    """Which utilities serve a zip code (an empty list: we do not serve it)."""
    areas = (
        ServiceArea.objects.filter(zip_code=zip_code, utility__active=True)
        .select_related("utility")
        .order_by("utility__code")
    )
    utilities = [
        {"code": a.utility.code, "name": a.utility.name, "market": a.utility.market} for a in areas
    ]
    return {"zip_code": zip_code, "served": bool(utilities), "utilities": utilities}


@api.get("/esiids/{esiid}", response={200: EsiidCheckOut, **ERRORS}, tags=["reference"])
def esiid_check(
    request,
    esiid: str = Path(..., pattern=r"^[0-9A-Za-z]{1,30}$"),
    utility_code: str | None = Query(None, pattern=SLUG),
):
    """Is an ESIID well formed (for the utility, when given) and free to enroll?"""
    utility = None
    if utility_code:
        utility = Utility.objects.filter(code=utility_code, active=True).first()
        if utility is None:
            raise ApplicationError("Unknown utility.", field="utility_code")
    valid, message = True, "The ESIID can be enrolled."
    try:
        if utility is None or utility.is_ercot:
            validate_esiid_for_utility(esiid, utility or Utility(esiid_prefixes=[]))
    except ApplicationError as exc:
        valid, message = False, exc.message
    available = not Enrollment.objects.filter(
        service_account__esiid=esiid, status__in=Enrollment.OPEN_STATUSES
    ).exists()
    if valid and not available:
        message = "This ESIID already has a pending or active enrollment."
    return {
        "esiid": esiid,
        "utility_code": utility.code if utility else None,
        "valid": valid,
        "available": available,
        "message": message,
    }


def _request_hash(payload: EnrollmentIn) -> str:
    body = json.dumps(payload.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


@api.post(
    "/enrollments",
    response={201: EnrollmentOut, 409: Problem, **ERRORS},
    tags=["enrollments"],
)
def create_enrollment(
    request,
    payload: EnrollmentIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="Same key and same body return the first result; another body: 409.",
    ),
):
    """Submit an enrollment (web or non-web plan); it goes to the billing system after."""
    partner = request.partner
    values = {k: ("" if v is None else str(v)) for k, v in payload.model_dump().items()}
    values["critical_care"] = "yes" if payload.critical_care else "no"
    data, reference = services.enrollment_input_from_values(values)

    def create() -> tuple[int, dict]:
        enrollment = services.partner_enrollment_submit(
            partner=partner,
            data=data,
            channel=Enrollment.Channel.API,
            reference=reference,
            # enrollment_submit serialises two concurrent requests with the same key
            idempotency_key=(
                f"api:{partner.pk}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"
                if idempotency_key
                else None
            ),
        )
        return enrollment.pk, json.loads(
            EnrollmentOut(**enrollment_out(enrollment)).model_dump_json()
        )

    return idempotent_create(
        request,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(payload),
        create=create,
    )


def idempotent_create(
    request,
    *,
    idempotency_key: str | None,
    request_hash: str,
    create: Callable[[], tuple[int, dict]],
) -> HttpResponse:
    """201 with ``create()``'s body and a Location, run once per partner and Idempotency-Key:
    the same key with the same body replays the first answer, with another body is a 409.
    ``create`` runs in the transaction that records the answer; two concurrent requests
    with one key are serialised by an advisory lock, so the second replays the first."""
    partner = request.partner
    if idempotency_key:
        earlier = IdempotencyRecord.objects.filter(partner=partner, key=idempotency_key).first()
        if earlier is not None:
            return _replay(earlier, request_hash)
    try:
        with transaction.atomic():
            if idempotency_key:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))",
                        [f"partners-idem:{partner.pk}:{idempotency_key}"],
                    )
                earlier = IdempotencyRecord.objects.filter(
                    partner=partner, key=idempotency_key
                ).first()
                if earlier is not None:
                    return _replay(earlier, request_hash)
            pk, body = create()
            if idempotency_key:
                IdempotencyRecord.objects.create(
                    partner=partner,
                    key=idempotency_key,
                    request_hash=request_hash,
                    status_code=201,
                    response_body=body,
                )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        earlier = IdempotencyRecord.objects.filter(partner=partner, key=idempotency_key).first()
        if idempotency_key and earlier is not None:
            return _replay(earlier, request_hash)
        raise
    response = HttpResponse(json.dumps(body), status=201, content_type="application/json")
    response["Location"] = f"{request.path.rstrip('/')}/{pk}"
    return response


def _replay(record: IdempotencyRecord, request_hash: str) -> HttpResponse:
    if record.request_hash != request_hash:
        return problem(
            409,
            "This Idempotency-Key was used with a different request body.",
            type_="urn:opsadmin:problem:idempotency_key_reused",
        )
    response = HttpResponse(
        json.dumps(record.response_body), status=record.status_code, content_type="application/json"
    )
    response["Idempotent-Replayed"] = "true"
    return response


@api.get("/enrollments", response={200: EnrollmentPage, **ERRORS}, tags=["enrollments"])
def list_enrollments(
    request,
    status: StatusLit | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=200),
):
    """The partner's enrollments, newest first; filter by status and creation date."""
    qs = selectors.partner_enrollments(
        partner=request.partner, status=status, created_from=created_from, created_to=created_to
    )
    count = qs.count()
    start = (page - 1) * page_size
    items = [enrollment_out(e) for e in qs[start : start + page_size]]
    return {"items": items, "count": count, "page": page, "page_size": page_size}


ID = Path(..., ge=1, le=2**63 - 1)


@api.get(
    "/enrollments/{enrollment_id}",
    response={200: EnrollmentOut, 404: Problem, **ERRORS},
    tags=["enrollments"],
)
def get_enrollment(request, enrollment_id: int = ID):
    """Status of one of this partner's enrollments (rejection reason; billing account
    number once accepted). Another partner's id is 404."""
    return enrollment_out(
        selectors.partner_enrollment_get(partner=request.partner, pk=enrollment_id)
    )


@api.post(
    "/enrollments/{enrollment_id}/cancel",
    response={200: EnrollmentOut, 404: Problem, 409: Problem, **ERRORS},
    tags=["enrollments"],
)
def cancel_enrollment(request, enrollment_id: int = ID, payload: CancelIn | None = None):
    """Cancel within the rescission period (3 federal business days after submission)."""
    enrollment = selectors.partner_enrollment_get(partner=request.partner, pk=enrollment_id)
    services.partner_enrollment_cancel(
        partner=request.partner,
        enrollment=enrollment,
        reason=payload.reason if payload else "",
    )
    return enrollment_out(
        selectors.partner_enrollment_get(partner=request.partner, pk=enrollment_id)
    )
