"""Verbs of enrollments: the one ``enrollment_submit`` every channel calls, and transitions."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from billing.services import billing_request_create, billing_requests_create
from enrollments.dates import add_months, market_today, rescission_deadline
from enrollments.models import (
    ConsentMethod,
    Customer,
    Enrollment,
    EnrollmentEvent,
    Plan,
    PromoCode,
    ReferralSource,
    ServiceAccount,
)
from enrollments.validators import validate_esiid_for_utility
from opsadmin import clock, events
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, ServiceArea, User, Utility
from opsadmin.phones import phone_normalize

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollmentInput:
    """What any channel (Quick Enrollment, Signup Wizard, Sales Importer, API) submits."""

    zip_code: str
    utility_code: str
    customer_type_code: str
    plan_code: str
    first_name: str
    last_name: str
    email: str
    esiid: str
    address_line1: str
    city: str
    phone: str = ""
    company_name: str = ""
    address_line2: str = ""
    state: str = "TX"
    meter_number: str = ""
    enrollment_type: str = Enrollment.EnrollmentType.SWITCH
    requested_start_date: date | None = None
    language: str = Customer.Language.ENGLISH
    notice_preference: str = Customer.NoticePreference.EMAIL
    date_of_birth: str = ""
    ssn: str = ""
    billing_address_line1: str = ""
    billing_city: str = ""
    billing_state: str = ""
    billing_zip: str = ""
    billing_address_line2: str = ""
    drivers_license: str = ""
    deposit_alternative: str = ""
    critical_care: bool = False
    promo_code: str = ""
    referral_source: str = ""
    consent_method: str = ""
    affiliate_code: str = ""
    extra: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A stable hash of the submission (for idempotency checks)."""
        data = asdict(self)
        data["requested_start_date"] = str(data["requested_start_date"] or "")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# Allowed life-cycle transitions (ESG statuses mapped onto TX SET: 814_01/16 submit, 814_08
# cancel, 814_24 move-out). Anything else is refused.
TRANSITIONS: dict[str, set[str]] = {
    Enrollment.Status.DRAFT: {Enrollment.Status.SUBMITTED, Enrollment.Status.CANCELLED},
    Enrollment.Status.SUBMITTED: {
        Enrollment.Status.PENDING,
        Enrollment.Status.REJECTED,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.PENDING: {
        Enrollment.Status.ACCEPTED,
        Enrollment.Status.REJECTED,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.ACCEPTED: {
        Enrollment.Status.ACTIVE,
        # the switch failed at completion (switch hold, a competing enrollment)
        Enrollment.Status.REJECTED,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.ACTIVE: {Enrollment.Status.DROPPED, Enrollment.Status.MOVED_OUT},
    Enrollment.Status.REJECTED: set(),
    Enrollment.Status.DROPPED: set(),
    Enrollment.Status.MOVED_OUT: set(),
    Enrollment.Status.RESCINDED: set(),
    Enrollment.Status.CANCELLED: set(),
}


@transaction.atomic
def enrollment_transition(
    *, enrollment: Enrollment, to_status: str, source: str, actor=None, note: str = "", **changes
) -> Enrollment:
    """Move an enrollment to ``to_status`` if the life cycle allows it; record the event.

    Extra keyword arguments are field updates saved with the transition
    (e.g. ``billing_account_number=...``, ``rejection_reason=...``).
    """
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if to_status not in TRANSITIONS[locked.status]:
        raise ApplicationError(
            f"An enrollment that is {locked.get_status_display().lower()} cannot become "
            f"{Enrollment.Status(to_status).label.lower()}.",
            code="bad_transition",
        )
    from_status = locked.status
    locked.status = to_status
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save()
    EnrollmentEvent.objects.create(
        enrollment=locked,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        source=source,
        note=note,
    )
    logger.info(
        "enrollment.transition",
        extra={"enrollment_id": locked.pk, "from": from_status, "to": to_status, "source": source},
    )
    _publish(locked)
    enrollment.refresh_from_db()
    return locked


def _publish(enrollment: Enrollment) -> None:
    """The typed event of the state just entered, delivered after commit (opsadmin.events)."""
    status = enrollment.status
    if status == Enrollment.Status.ACCEPTED:
        events.publish(
            events.EnrollmentAccepted(
                enrollment_id=enrollment.pk, service_account_id=enrollment.service_account_id
            )
        )
    elif status == Enrollment.Status.ACTIVE and enrollment.service_start_date:
        events.publish(
            events.ServiceStarted(
                enrollment_id=enrollment.pk,
                service_account_id=enrollment.service_account_id,
                service_start_date=enrollment.service_start_date,
            )
        )
    elif status == Enrollment.Status.REJECTED:
        events.publish(
            events.ServiceRejected(enrollment_id=enrollment.pk, reason=enrollment.rejection_reason)
        )
    elif (
        status in (Enrollment.Status.DROPPED, Enrollment.Status.MOVED_OUT)
        and enrollment.service_end_date
    ):
        events.publish(
            events.ServiceEnded(
                enrollment_id=enrollment.pk,
                service_account_id=enrollment.service_account_id,
                service_end_date=enrollment.service_end_date,
                kind="move_out" if status == Enrollment.Status.MOVED_OUT else "drop",
            )
        )


def contract_dates(*, plan: Plan, start: date) -> tuple[date, date | None]:
    """(contract start, contract end) for a plan starting on ``start``: the end is start +
    the plan's term in months (clamped to the month's last day); none when month-to-month."""
    if plan.month_to_month:
        return start, None
    return start, add_months(start, plan.term_months)


def enrollment_service_start(
    *, enrollment: Enrollment, service_start_date: date, source: str, note: str = ""
) -> Enrollment:
    """The billing system reports the switch / move-in complete: ACCEPTED -> ACTIVE with the
    actual start (which may differ from the one requested) and the contract's dates."""
    contract_start, contract_end = contract_dates(plan=enrollment.plan, start=service_start_date)
    requested = enrollment.requested_start_date
    detail = f"Service started {service_start_date.isoformat()}"
    if requested and requested != service_start_date:
        detail += f" (requested {requested.isoformat()})"
    return enrollment_transition(
        enrollment=enrollment,
        to_status=Enrollment.Status.ACTIVE,
        source=source,
        note=note or f"{detail}.",
        service_start_date=service_start_date,
        contract_start_date=contract_start,
        contract_end_date=contract_end,
    )


def enrollment_service_end(
    *, enrollment: Enrollment, service_end_date: date, move_out: bool, source: str, note: str = ""
) -> Enrollment:
    """A drop / move-out took effect: ACTIVE -> DROPPED / MOVED_OUT (final) on its last day."""
    return enrollment_transition(
        enrollment=enrollment,
        to_status=Enrollment.Status.MOVED_OUT if move_out else Enrollment.Status.DROPPED,
        source=source,
        note=note or f"Service ended {service_end_date.isoformat()}.",
        service_end_date=service_end_date,
    )


def _billing_request(enrollment: Enrollment, *, kind: str, idempotency_key: str, **payload):
    """An outbox row about ``enrollment`` (written in the caller's transaction)."""
    return billing_request_create(
        kind=kind,
        subject_type="enrollment",
        subject_id=enrollment.pk,
        utility_code=enrollment.service_account.utility.code,
        payload={
            "enrollment_id": enrollment.pk,
            "esiid": enrollment.service_account.esiid,
            **payload,
        },
        idempotency_key=idempotency_key,
    )


def rollover_plan_for(enrollment: Enrollment) -> Plan | None:
    """The plan a contract ending without a renewal moves to: its renewal plan when that is
    month-to-month, else a month-to-month plan offered for the utility and customer type
    (PUCT 25.475(e): service continues month-to-month)."""
    renewal = enrollment.plan.renewal_plan
    if renewal is not None and renewal.month_to_month and renewal.active:
        return renewal
    return (
        Plan.objects.filter(
            month_to_month=True,
            active=True,
            utilities=enrollment.service_account.utility_id,
            customer_types=enrollment.customer.customer_type_id,
        )
        .order_by("energy_charge_cents", "code")
        .first()
    )


def contracts_roll_over(*, today: date | None = None) -> dict[str, int]:
    """Daily: every active contract whose end date has come moves to its month-to-month plan
    (recorded on the timeline, told to the billing system). Idempotent: a rolled-over
    enrollment has no contract end any more. Contracts with no month-to-month plan to move
    to are counted and left for staff (the stuck-enrollments screen lists them)."""
    today = today or market_today()
    due = Enrollment.objects.filter(
        status=Enrollment.Status.ACTIVE, contract_end_date__lte=today
    ).values_list("pk", flat=True)
    counts = {"rolled": 0, "no_plan": 0}
    for pk in list(due[:5000]):
        counts["rolled" if _roll_over(pk, today) else "no_plan"] += 1
    return counts


@transaction.atomic
def _roll_over(enrollment_id: int, today: date) -> bool:
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("plan__renewal_plan", "service_account__utility", "customer")
        .get(pk=enrollment_id)
    )
    ended = enrollment.contract_end_date
    if enrollment.status != Enrollment.Status.ACTIVE or ended is None or ended > today:
        return True
    new_plan = rollover_plan_for(enrollment)
    if new_plan is None:
        logger.warning("enrollment.rollover_no_plan", extra={"enrollment_id": enrollment.pk})
        return False
    old_plan = enrollment.plan
    enrollment.plan = new_plan
    enrollment.contract_start_date, enrollment.contract_end_date = contract_dates(
        plan=new_plan, start=ended
    )
    enrollment.save(update_fields=["plan", "contract_start_date", "contract_end_date"])
    EnrollmentEvent.objects.create(
        enrollment=enrollment,
        from_status=enrollment.status,
        to_status=enrollment.status,
        source="contract-end",
        note=f"Contract ended {ended.isoformat()} without a renewal: moved from {old_plan.code} "
        f"to {new_plan.code}.",
    )
    _billing_request(
        enrollment,
        kind="plan_change",
        idempotency_key=f"plan_change:enrollment:{enrollment.pk}:{ended.isoformat()}",
        billing_account_number=enrollment.billing_account_number,
        plan_code=new_plan.code,
        effective_date=ended.isoformat(),
        reason="contract_expired",
    )
    events.publish(
        events.ContractRolledOver(
            enrollment_id=enrollment.pk, from_plan_code=old_plan.code, to_plan_code=new_plan.code
        )
    )
    logger.info("enrollment.rolled_over", extra={"enrollment_id": enrollment.pk})
    return True


def plans_available(*, utility: Utility, customer_type: CustomerType, channel: str) -> list[Plan]:
    """Plans a channel may sell for a utility and customer type (web plans only on the web
    channels: Quick Enrollment and the Signup Wizard sell web plans)."""
    qs = Plan.objects.filter(active=True, utilities=utility, customer_types=customer_type)
    if channel in (Enrollment.Channel.QUICK, Enrollment.Channel.WIZARD):
        qs = qs.filter(is_web_plan=True)
    return list(qs.order_by("energy_charge_cents", "code"))


@dataclass(frozen=True)
class Proof:
    """Proof of authorization captured with an enrollment (PUCT 25.474)."""

    agent: User | None = None  # the staff user on the phone
    ip: str | None = None  # web: where the customer submitted from
    user_agent: str = ""
    signed_contract: File | None = None  # an uploaded File for Signed Contract
    acknowledgements: tuple[str, ...] = ()


def promo_code_lookup(*, code: str, channel: str, day: date | None = None) -> PromoCode:
    """The promo code if it may be used today on this channel; else ApplicationError."""
    promo = PromoCode.objects.filter(code__iexact=code.strip()).first()
    if promo is None:
        raise ApplicationError(gettext("We don't recognise that promo code."), field="promo_code")
    if not promo.is_valid_on(day or market_today(), channel):
        raise ApplicationError(
            gettext("That promo code is expired or not valid here."), field="promo_code"
        )
    return promo


@dataclass
class SubmitContext:
    """Reference data kept for one batch of submissions (the Sales Importer passes one per
    import) so that each distinct utility, customer type, zip, plan list, promo code,
    referral source and consent method is read once per batch instead of once per row.

    The rules are the same as without a context (each lookup is the query
    ``enrollment_submit`` runs anyway, its answer kept, misses too); only the number of round
    trips changes. ``prefetch_open_esiids`` reads the open-enrollment check for many ESIIDs
    in one query; rows submitted through this context are added as they are created.

    A caller passing a context must run each ``enrollment_submit`` inside its own
    ``transaction.atomic()`` (e.g. one savepoint per row): with a context the service does
    not open savepoints of its own, the caller's block rolls a refused row back.
    """

    utilities: dict[str, Utility | None] = field(default_factory=dict)
    zips: dict[int, frozenset[str]] = field(default_factory=dict)
    customer_types: dict[str, CustomerType | None] = field(default_factory=dict)
    plans: dict[tuple[int, int, str], dict[str, Plan]] = field(default_factory=dict)
    promos: dict[str, PromoCode | None] = field(default_factory=dict)
    referrals: dict[str, ReferralSource | None] = field(default_factory=dict)
    consents: dict[str, ConsentMethod | None] = field(default_factory=dict)
    open_esiids: set[str] = field(default_factory=set)
    checked_esiids: set[str] = field(default_factory=set)

    def prefetch_open_esiids(self, esiids: Iterable[str]) -> None:
        """One query for the open-enrollment check of many ESIIDs (the rows of a chunk)."""
        wanted = {e for e in esiids if e} - self.checked_esiids
        if not wanted:
            return
        self.open_esiids.update(
            Enrollment.objects.filter(
                service_account__esiid__in=wanted, status__in=Enrollment.OPEN_STATUSES
            ).values_list("service_account__esiid", flat=True)
        )
        self.checked_esiids.update(wanted)

    def forget_esiid(self, esiid: str) -> None:
        """The row that used this ESIID was rolled back: ask the database next time."""
        self.checked_esiids.discard(esiid)
        self.open_esiids.discard(esiid)


def _utility(code: str, ctx: SubmitContext | None) -> Utility | None:
    if ctx is None or code not in ctx.utilities:
        found = Utility.objects.filter(code=code, active=True).first()
        if ctx is None:
            return found
        ctx.utilities[code] = found
    return ctx.utilities[code]


def _serves_zip(utility: Utility, zip_code: str, ctx: SubmitContext | None) -> bool:
    if ctx is None:
        return ServiceArea.objects.filter(utility=utility, zip_code=zip_code).exists()
    if utility.pk not in ctx.zips:
        ctx.zips[utility.pk] = frozenset(
            ServiceArea.objects.filter(utility=utility).values_list("zip_code", flat=True)
        )
    return zip_code in ctx.zips[utility.pk]


def _customer_type(code: str, ctx: SubmitContext | None) -> CustomerType | None:
    if ctx is None or code not in ctx.customer_types:
        found = CustomerType.objects.filter(code=code, active=True).first()
        if ctx is None:
            return found
        ctx.customer_types[code] = found
    return ctx.customer_types[code]


def _plan(
    code: str,
    utility: Utility,
    customer_type: CustomerType,
    channel: str,
    ctx: SubmitContext | None,
) -> Plan | None:
    """The plan called ``code`` if this channel may sell it for the utility and type."""
    if ctx is None:  # one query: the plans this channel may sell, the one called ``code``
        available = plans_available(utility=utility, customer_type=customer_type, channel=channel)
        return next((p for p in available if p.code == code), None)
    key = (utility.pk, customer_type.pk, channel)
    if key not in ctx.plans:
        ctx.plans[key] = {
            p.code: p
            for p in plans_available(utility=utility, customer_type=customer_type, channel=channel)
        }
    return ctx.plans[key].get(code)


def _esiid_is_open(esiid: str, ctx: SubmitContext | None) -> bool:
    if ctx is not None and esiid in ctx.checked_esiids:
        return esiid in ctx.open_esiids
    return Enrollment.objects.filter(
        service_account__esiid=esiid, status__in=Enrollment.OPEN_STATUSES
    ).exists()


def _validate(
    data: EnrollmentInput, channel: str, ctx: SubmitContext | None = None
) -> tuple[Utility, CustomerType, Plan]:
    if not (len(data.zip_code) == 5 and data.zip_code.isdigit()):
        raise ApplicationError(gettext("Enter a 5-digit zip code."), field="zip_code")
    utility = _utility(data.utility_code, ctx)
    if utility is None:
        raise ApplicationError(gettext("Unknown utility."), field="utility_code")
    if not _serves_zip(utility, data.zip_code, ctx):
        raise ApplicationError(gettext("Oops! We don't service your area!"), field="zip_code")
    customer_type = _customer_type(data.customer_type_code, ctx)
    if customer_type is None:
        raise ApplicationError(gettext("Unknown customer type."), field="customer_type_code")
    plan = _plan(data.plan_code, utility, customer_type, channel, ctx)
    if plan is None:
        raise ApplicationError(gettext("That plan is not available here."), field="plan_code")
    if utility.is_ercot:
        validate_esiid_for_utility(data.esiid, utility)
    if _esiid_is_open(data.esiid, ctx):
        raise ApplicationError(
            gettext("This ESIID already has a pending or active enrollment."),
            field="esiid",
            code="esiid_taken",
        )
    return utility, customer_type, plan


def _promo(data: EnrollmentInput, channel: str, ctx: SubmitContext | None) -> PromoCode | None:
    if not data.promo_code:
        return None
    if ctx is None:
        return promo_code_lookup(code=data.promo_code, channel=channel)
    code = data.promo_code.strip().lower()
    if code not in ctx.promos:
        ctx.promos[code] = PromoCode.objects.filter(code__iexact=code).first()
    promo = ctx.promos[code]
    if promo is None:
        raise ApplicationError(gettext("We don't recognise that promo code."), field="promo_code")
    if not promo.is_valid_on(market_today(), channel):
        raise ApplicationError(
            gettext("That promo code is expired or not valid here."), field="promo_code"
        )
    return promo


def _referral(name: str) -> ReferralSource | None:
    referral = ReferralSource.objects.filter(name__iexact=name).first()
    if referral is None and name.isdigit():
        referral = ReferralSource.objects.filter(pk=int(name)).first()
    return referral


def _extras(data: EnrollmentInput, channel: str, ctx: SubmitContext | None = None):
    promo = _promo(data, channel, ctx)
    referral = None
    if data.referral_source:
        if ctx is None:
            referral = _referral(data.referral_source)
        else:
            if data.referral_source not in ctx.referrals:
                ctx.referrals[data.referral_source] = _referral(data.referral_source)
            referral = ctx.referrals[data.referral_source]
        if referral is None:
            raise ApplicationError(gettext("Unknown referral source."), field="referral_source")
    consent = None
    if data.consent_method:
        if ctx is None or data.consent_method not in ctx.consents:
            consent = ConsentMethod.objects.filter(code=data.consent_method, active=True).first()
            if ctx is not None:
                ctx.consents[data.consent_method] = consent
        else:
            consent = ctx.consents[data.consent_method]
        if consent is None:
            raise ApplicationError(gettext("Unknown consent method."), field="consent_method")
    return promo, referral, consent


def enrollment_submit(
    *,
    data: EnrollmentInput,
    channel: str,
    actor=None,
    customer: Customer | None = None,
    source: str = "",
    idempotency_key: str | None = None,
    proof: Proof | None = None,
    context: SubmitContext | None = None,
    login: Login | None = None,
) -> Enrollment:
    """Validate and write customer, premise, enrollment and the Create Prospect outbox row
    in one transaction. The billing system hears of it after commit.

    The work is a pipeline of named steps (``SUBMIT_PIPELINE``: validate, customer, premise,
    enrollment, proof, login, outbox), each a small function with one job over a
    ``Submission``, like a checkout's complete step.

    ``customer`` attaches the enrollment to an existing customer (enroll another account).
    ``idempotency_key`` (e.g. a form's token): a second call with the same key returns the
    enrollment the first one made and writes nothing. ``proof``: proof of authorization.
    ``context``: reference data kept across a batch (see ``SubmitContext``; the caller then
    wraps each call in its own ``transaction.atomic()``). ``login``: give the customer their
    My Account login in the same transaction (Quick Enrollment, Signup Wizard).
    Raises ``ApplicationError`` (with ``field``) for anything a person must correct.
    """
    # With a context the caller's per-row atomic block is the savepoint; a refused row
    # raises through it and is rolled back there.
    with transaction.atomic(savepoint=context is None):
        return _submit(
            Submission(
                data=data,
                channel=channel,
                actor=actor if getattr(actor, "pk", None) else None,
                customer=customer,
                source=source or channel,
                idempotency_key=idempotency_key or None,
                proof=proof,
                ctx=context,
                login=login,
            )
        )


@dataclass(frozen=True)
class Login:
    """The My Account login an enrollment gives its customer (username = email): with the
    password hash the customer chose (the wizard), else unusable until the customer sets it
    through the one-time link emailed when ``base_url`` (which builds it) is given."""

    password_hash: str = ""
    base_url: str = ""


@dataclass(frozen=True)
class Checked:
    """What validation found for one submission: the reference rows it names."""

    utility: Utility
    customer_type: CustomerType
    plan: Plan
    promo: PromoCode | None
    referral: ReferralSource | None
    consent: ConsentMethod | None


@dataclass
class Submission:
    """One submission on its way through ``SUBMIT_PIPELINE``; each step fills its part."""

    data: EnrollmentInput
    channel: str
    actor: User | None
    customer: Customer | None
    source: str
    idempotency_key: str | None = None
    proof: Proof | None = None
    ctx: SubmitContext | None = None
    login: Login | None = None
    checked: Checked | None = None
    premise: ServiceAccount | None = None
    enrollment: Enrollment | None = None


def _check(
    data: EnrollmentInput, channel: str, ctx: SubmitContext | None, proof: Proof | None
) -> Checked:
    """Every rule a submission must pass before anything is written (shared by the one-row
    pipeline and ``enrollments_submit_many``)."""
    utility, customer_type, plan = _validate(data, channel, ctx)
    promo, referral, consent = _extras(data, channel, ctx)
    if consent is not None and consent.requires_document and not (proof and proof.signed_contract):
        raise ApplicationError(gettext("Upload the signed contract."), field="signed_contract")
    return Checked(utility, customer_type, plan, promo, referral, consent)


def _submit_existing(sub: Submission) -> Enrollment | None:
    """The enrollment an earlier submit with the same idempotency key made, if any."""
    if not sub.idempotency_key:
        return None
    # Serialise submits of one key (a double click lands in two requests at once).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [sub.idempotency_key])
    return Enrollment.objects.filter(idempotency_key=sub.idempotency_key).first()


def _submit_validate(sub: Submission) -> None:
    sub.checked = _check(sub.data, sub.channel, sub.ctx, sub.proof)


def _submit_customer(sub: Submission) -> None:
    """A new customer unless the enrollment is for an existing one (enroll another)."""
    if sub.customer is None:
        assert sub.checked is not None
        sub.customer = _new_customer(sub.data, sub.checked.customer_type)
        sub.customer.save(force_insert=True)


def _submit_premise(sub: Submission) -> None:
    assert sub.checked is not None and sub.customer is not None
    sub.premise = _new_premise(sub.data, sub.customer, sub.checked.utility)
    sub.premise.save(force_insert=True)


def _submit_enrollment(sub: Submission) -> None:
    """The enrollment, written as submitted in one INSERT, and its life-cycle event.

    The draft -> submitted step is recorded (EnrollmentEvent) exactly as
    enrollment_transition records it, without re-reading and locking a row nobody else can
    see yet (it was created in this transaction). The audit trail (pghistory) has the insert
    event with its context.
    """
    checked, data = sub.checked, sub.data
    assert checked is not None and sub.customer is not None and sub.premise is not None
    try:
        enrollment = _new_enrollment(
            data,
            customer=sub.customer,
            premise=sub.premise,
            plan=checked.plan,
            channel=sub.channel,
            actor=sub.actor,
            promo=checked.promo,
            referral=checked.referral,
            consent=checked.consent,
            proof=sub.proof,
            idempotency_key=sub.idempotency_key,
        )
        enrollment.save(force_insert=True)
    except IntegrityError as exc:  # the partial unique indexes: a concurrent double submit
        if not any(
            name in str(exc)
            for name in ("one_open_enrollment_per_service_account", "one_open_enrollment_per_esiid")
        ):
            raise
        raise ApplicationError(
            gettext("This ESIID already has a pending or active enrollment."),
            field="esiid",
            code="esiid_taken",
        ) from exc
    _submitted_event(enrollment, actor=sub.actor, source=sub.source).save(force_insert=True)
    _log_submitted_transition(enrollment, source=sub.source)
    if sub.ctx is not None:
        sub.ctx.open_esiids.add(data.esiid)
        sub.ctx.checked_esiids.add(data.esiid)
    sub.enrollment = enrollment


def _submit_proof(sub: Submission) -> None:
    """The signed contract, when that is the proof of authorization (PUCT 25.474)."""
    proof, enrollment = sub.proof, sub.enrollment
    assert enrollment is not None
    if proof and proof.signed_contract:
        name = f"enrollment-{enrollment.pk}-{getattr(proof.signed_contract, 'name', 'contract')}"
        enrollment.signed_contract.save(name.rsplit("/", 1)[-1], proof.signed_contract, save=True)


def _submit_login(sub: Submission) -> None:
    """The customer's My Account login, when the channel gives one at submission; an agent's
    enrollment emails the set-password link (after commit, in the customer's language)."""
    if sub.login is None:
        return
    assert sub.customer is not None
    user, created = customer_login_create(
        customer=sub.customer, password_hash=sub.login.password_hash
    )
    if created and sub.login.base_url and not sub.login.password_hash:
        set_password_email_send(
            user=user, base_url=sub.login.base_url, language=sub.customer.language
        )


def _submit_outbox(sub: Submission) -> None:
    """The Create Prospect request to the billing system (sent after commit by the outbox)."""
    assert sub.enrollment is not None and sub.checked is not None
    billing_request_create(**_create_prospect_row(sub.enrollment, sub.checked.utility))
    logger.info(
        "enrollment.submitted",
        extra={"enrollment_id": sub.enrollment.pk, "channel": sub.channel},
    )


def _create_prospect_row(enrollment: Enrollment, utility: Utility) -> dict:
    return {
        "kind": "create_prospect",
        "subject_type": "enrollment",
        "subject_id": enrollment.pk,
        "utility_code": utility.code,
        "payload": create_prospect_payload(enrollment),
        "idempotency_key": f"create_prospect:enrollment:{enrollment.pk}",
    }


SUBMIT_PIPELINE = (
    _submit_validate,
    _submit_customer,
    _submit_premise,
    _submit_enrollment,
    _submit_proof,
    _submit_login,
    _submit_outbox,
)


def _submit(sub: Submission) -> Enrollment:
    """Run the pipeline; a key already used returns its enrollment and writes nothing."""
    existing = _submit_existing(sub)
    if existing is not None:
        return existing
    for step in SUBMIT_PIPELINE:
        step(sub)
    assert sub.enrollment is not None
    return sub.enrollment


def _new_customer(data: EnrollmentInput, customer_type: CustomerType) -> Customer:
    """The customer an enrollment creates (unsaved)."""
    return Customer(
        customer_type=customer_type,
        first_name=data.first_name,
        last_name=data.last_name,
        company_name=data.company_name,
        email=data.email,
        phone=phone_normalize(data.phone, strict=False),
        language=data.language,
        notice_preference=data.notice_preference,
        date_of_birth=data.date_of_birth,
        drivers_license=data.drivers_license,
        ssn=data.ssn,
        ssn_last4=data.ssn[-4:] if data.ssn else "",
        billing_address_line1=data.billing_address_line1 or data.address_line1,
        billing_address_line2=data.billing_address_line2
        if data.billing_address_line1
        else data.address_line2,
        billing_city=data.billing_city or data.city,
        billing_state=data.billing_state or data.state,
        billing_zip=data.billing_zip or data.zip_code,
    )


def _new_premise(data: EnrollmentInput, customer: Customer, utility: Utility) -> ServiceAccount:
    return ServiceAccount(
        customer=customer,
        utility=utility,
        esiid=data.esiid,
        meter_number=data.meter_number,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state,
        zip_code=data.zip_code,
    )


def _new_enrollment(
    data: EnrollmentInput,
    *,
    customer: Customer,
    premise: ServiceAccount,
    plan: Plan,
    channel: str,
    actor,
    promo: PromoCode | None,
    referral: ReferralSource | None,
    consent: ConsentMethod | None,
    proof: Proof | None,
    idempotency_key: str | None,
) -> Enrollment:
    """The enrollment as submitted (unsaved): written in one INSERT, status SUBMITTED."""
    now = timezone.now()
    return Enrollment(
        customer=customer,
        service_account=premise,
        esiid=premise.esiid,
        plan=plan,
        channel=channel,
        status=Enrollment.Status.SUBMITTED,
        enrollment_type=data.enrollment_type,
        requested_start_date=data.requested_start_date,
        created_by=actor,
        promo_code=promo,
        referral_source=referral,
        affiliate_code=data.affiliate_code,
        critical_care=data.critical_care,
        deposit_alternative=data.deposit_alternative,
        consent_method=consent,
        consent_at=now if consent is not None else None,
        consent_agent=proof.agent if proof and getattr(proof.agent, "pk", None) else None,
        consent_ip=proof.ip if proof else None,
        consent_user_agent=(proof.user_agent if proof else "")[:400],
        acknowledgements=list(proof.acknowledgements) if proof else [],
        idempotency_key=idempotency_key or None,
        submitted_at=clock.now(),
        rescission_deadline=rescission_deadline(market_today()),
    )


def _submitted_event(enrollment: Enrollment, *, actor, source: str) -> EnrollmentEvent:
    """The draft -> submitted step of the life cycle, as enrollment_transition records it."""
    return EnrollmentEvent(
        enrollment=enrollment,
        from_status=Enrollment.Status.DRAFT,
        to_status=Enrollment.Status.SUBMITTED,
        actor=actor,
        source=source,
        note="",
    )


def _log_submitted_transition(enrollment: Enrollment, *, source: str) -> None:
    logger.info(
        "enrollment.transition",
        extra={
            "enrollment_id": enrollment.pk,
            "from": Enrollment.Status.DRAFT,
            "to": Enrollment.Status.SUBMITTED,
            "source": source,
        },
    )


def enrollments_submit_many(
    *,
    rows: list[EnrollmentInput],
    channel: str,
    context: SubmitContext,
    actor=None,
    source: str = "",
) -> list[Enrollment | ApplicationError]:
    """``enrollment_submit`` for many rows at once (the Sales Importer's chunk): the same
    rules per row, then one multi-row INSERT per table (customers, premises, enrollments,
    events, outbox rows) instead of a savepoint and six statements per row.

    Returns, per row in order, its enrollment or the ``ApplicationError`` that refused it
    (nothing of a refused row is written). Runs in the caller's transaction: the caller
    wraps it in a savepoint, and an ``IntegrityError`` (a concurrent submit took one of the
    ESIIDs) rolls the whole call back; the caller then submits the rows one by one. The
    context marks accepted ESIIDs open as it goes, so the caller must ``forget_esiid``
    them when it rolls back.
    """
    actor = actor if getattr(actor, "pk", None) else None
    results: list[Enrollment | ApplicationError | None] = []
    accepted: list[tuple[int, EnrollmentInput, Checked]] = []
    for data in rows:
        try:
            # no proof in a batch: a consent that needs a signed contract is refused
            checked = _check(data, channel, context, None)
        except ApplicationError as exc:
            results.append(exc)
            continue
        # a later row of this call with the same ESIID is refused, as it would be one by one
        context.open_esiids.add(data.esiid)
        context.checked_esiids.add(data.esiid)
        accepted.append((len(results), data, checked))
        results.append(None)
    if not accepted:
        return [r for r in results if r is not None]
    customers = Customer.objects.bulk_create(
        [_new_customer(data, checked.customer_type) for _i, data, checked in accepted]
    )
    premises = ServiceAccount.objects.bulk_create(
        [
            _new_premise(data, c, checked.utility)
            for (_i, data, checked), c in zip(accepted, customers, strict=True)
        ]
    )
    # an open enrollment a concurrent submit made for one of the ESIIDs: IntegrityError
    enrollments = Enrollment.objects.bulk_create(
        [
            _new_enrollment(
                data,
                customer=c,
                premise=p,
                plan=checked.plan,
                channel=channel,
                actor=actor,
                promo=checked.promo,
                referral=checked.referral,
                consent=checked.consent,
                proof=None,
                idempotency_key=None,
            )
            for (_i, data, checked), c, p in zip(accepted, customers, premises, strict=True)
        ]
    )
    EnrollmentEvent.objects.bulk_create(
        [_submitted_event(e, actor=actor, source=source or channel) for e in enrollments]
    )
    billing_requests_create(
        rows=[
            _create_prospect_row(e, checked.utility)
            for (_i, _data, checked), e in zip(accepted, enrollments, strict=True)
        ]
    )
    for (index, *_rest), enrollment in zip(accepted, enrollments, strict=True):
        results[index] = enrollment
        _log_submitted_transition(enrollment, source=source or channel)
        logger.info(
            "enrollment.submitted", extra={"enrollment_id": enrollment.pk, "channel": channel}
        )
    return [r for r in results if r is not None]


def create_prospect_payload(enrollment: Enrollment) -> dict:
    """What the billing system's Create Prospect receives (no SSN: billing gets it through
    the credit check on its side; see docs/esg-contract.md)."""
    c = enrollment.customer
    p = enrollment.service_account
    return {
        "enrollment_id": enrollment.pk,
        "utility": p.utility.code,
        "esiid": p.esiid,
        "meter_number": p.meter_number,
        "plan_code": enrollment.plan.code,
        "enrollment_type": enrollment.enrollment_type,
        "requested_start_date": enrollment.requested_start_date.isoformat()
        if enrollment.requested_start_date
        else None,
        "customer": {
            "first_name": c.first_name,
            "last_name": c.last_name,
            "company_name": c.company_name,
            "email": c.email,
            "phone": c.phone,
            "language": c.language,
            "customer_type": c.customer_type.code,
            "notice_preference": c.notice_preference,
        },
        "critical_care": enrollment.critical_care,
        "deposit_alternative": enrollment.deposit_alternative,
        "promo_code": enrollment.promo_code.code if enrollment.promo_code else None,
        "service_address": {
            "line1": p.address_line1,
            "line2": p.address_line2,
            "city": p.city,
            "state": p.state,
            "zip": p.zip_code,
        },
        "billing_address": {
            "line1": c.billing_address_line1,
            "city": c.billing_city,
            "state": c.billing_state,
            "zip": c.billing_zip,
        },
    }


RESCINDABLE = (Enrollment.Status.SUBMITTED, Enrollment.Status.PENDING, Enrollment.Status.ACCEPTED)


class RescissionClosed(ApplicationError):
    """The customer's rescission window is over (``deadline``: its last day, or None when the
    enrollment was never submitted)."""

    def __init__(self, deadline: date | None):
        super().__init__("The rescission window has closed.", code="rescission_closed")
        self.deadline = deadline


def enrollment_rescission_deadline(enrollment: Enrollment) -> date | None:
    """Last day the customer may rescind (3 federal business days, PUCT Subst. R. §25.474): the date
    ``enrollment_submit`` stored, else computed from the submission's market day."""
    if enrollment.rescission_deadline:
        return enrollment.rescission_deadline
    if enrollment.submitted_at is None:
        return None
    return rescission_deadline(enrollment.submitted_at.astimezone(clock.CHICAGO).date())


def enrollment_rescindable(enrollment: Enrollment) -> bool:
    """May the customer rescind this enrollment today (what :func:`enrollment_rescind` asks)?"""
    deadline = enrollment_rescission_deadline(enrollment)
    return enrollment.status in RESCINDABLE and deadline is not None and market_today() <= deadline


@transaction.atomic
def enrollment_rescind(
    *,
    enrollment: Enrollment,
    actor=None,
    source: str = "agent",
    note: str = "",
    submitted_becomes: str = Enrollment.Status.RESCINDED,
) -> Enrollment:
    """The customer's right of rescission (PUCT Subst. R. §25.474: 3 federal business days, no
    early termination fee), for every channel: the status becomes RESCINDED and a cancel (TX
    SET 814_08) goes to the billing system.

    ``submitted_becomes``: what an enrollment the billing system has not acknowledged yet
    becomes (the Enrollment API reports that case as ``cancelled``, its published contract).
    Raises ``ApplicationError`` (code ``not_cancellable``) for an enrollment past accepted or
    already ended, and :class:`RescissionClosed` after the deadline; nothing changes then.
    """
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("service_account__utility")
        .get(pk=enrollment.pk)
    )
    if enrollment.status not in RESCINDABLE:
        raise ApplicationError(
            f"An enrollment that is {enrollment.get_status_display().lower()} cannot be cancelled.",
            code="not_cancellable",
        )
    deadline = enrollment_rescission_deadline(enrollment)
    if deadline is None or market_today() > deadline:
        raise RescissionClosed(deadline)
    to_status = (
        submitted_becomes
        if enrollment.status == Enrollment.Status.SUBMITTED
        else Enrollment.Status.RESCINDED
    )
    enrollment = enrollment_transition(
        enrollment=enrollment,
        to_status=to_status,
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note or "Rescinded within the 3-business-day window; no ETF.",
    )
    _billing_request(
        enrollment,
        kind="cancel",
        idempotency_key=f"cancel:enrollment:{enrollment.pk}",
        reason="rescission",
        etf="0.00",
        prospect_id=enrollment.esg_prospect_id or None,
        status=to_status,
        note=note,
    )
    logger.info("enrollment.rescinded", extra={"enrollment_id": enrollment.pk})
    return enrollment


def customer_login_create(*, customer: Customer, password_hash: str = ""):
    """Give a customer their My Account login (username = email).

    With ``password_hash`` (the wizard: the customer chose it) the login is ready; without
    (an agent enrollment) the password is unusable until the customer sets it through the
    emailed one-time link. Returns ``(user, created)``; an email already taken by another
    login leaves the customer without one (reported, not guessed).
    """
    from opsadmin.models import User

    if customer.user_id:
        return customer.user, False
    email = customer.email.strip().lower()
    if User.objects.filter(username__iexact=email).exists():
        logger.warning("customer.login_exists", extra={"customer_id": customer.pk})
        return None, False
    user = User(
        username=email,
        email=email,
        kind=User.Kind.CUSTOMER,
        first_name=customer.first_name,
        last_name=customer.last_name,
    )
    if password_hash:
        user.password = password_hash
    else:
        user.set_unusable_password()
    user.save()
    customer.user = user
    customer.save(update_fields=["user"])
    return user, True


def set_password_link(*, user, base_url: str) -> str:
    """The one-time set-password link (Django's token generator: dies once used)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import NoReverseMatch, reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    try:
        path = reverse("myaccount:set_password", kwargs={"uidb64": uidb64, "token": token})
    except NoReverseMatch:
        path = f"/myaccount/set-password/{uidb64}/{token}/"
    return base_url.rstrip("/") + path


def set_password_email_send(*, user, base_url: str, language: str | None = None) -> None:
    """Email the customer their set-password link (never a password), after commit, in
    ``language`` (else the customer's stored one)."""
    from django.core.mail import send_mail
    from django.utils import translation
    from django.utils.translation import gettext

    link = set_password_link(user=user, base_url=base_url)

    def send() -> None:
        # The customer's document language (PUCT Subst. R. 25.473), English when unknown.
        chosen = language
        if chosen is None:
            customer = Customer.objects.filter(user=user).only("language").first()
            chosen = customer.language if customer else "en"
        with translation.override(chosen):
            send_mail(
                gettext("Your My Account login"),
                gettext("Welcome! Your username is %(username)s.") % {"username": user.username}
                + "\n\n"
                + gettext("Choose your password here (the link works once):")
                + f"\n{link}\n",
                None,
                [user.email],
            )

    transaction.on_commit(send)
