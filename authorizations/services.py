"""Verbs of usage authorization: request an SMT data-sharing agreement, follow it, pull the
person's history when they approve, renew before it lapses, and store fallback usage."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext, gettext_noop

from authorizations.models import AuthorizationEvent, MonthlyUsage, UsageAuthorization
from authorizations.parsers import (
    ParsedMonth,
    ParsedUpload,
    parse_green_button,
    parse_smt_csv,
)
from opsadmin import clock
from opsadmin.errors import ApplicationError, MalformedAnswerError, PermanentIntegrationError
from opsadmin.i18n import in_each_language
from opsadmin.models import CustomerType, Utility
from usage.services import SmtAgreementPort, SmtPort

logger = logging.getLogger(__name__)

Status = UsageAuthorization.Status
Source = MonthlyUsage.Source
ESIID_RE = re.compile(r"^10\d{15}(\d{5})?$")

# How long we wait on the person before the request lapses (SMT emails them; many never open
# it). Reminders go out every REMINDER_EVERY while pending, at most MAX_REMINDERS times.
PENDING_TIMEOUT = timedelta(hours=getattr(settings, "AUTHORIZATIONS_PENDING_TIMEOUT_HOURS", 72))
REMINDER_EVERY = timedelta(hours=getattr(settings, "AUTHORIZATIONS_REMINDER_HOURS", 24))
MAX_REMINDERS = 2
RENEWAL_NOTICE_DAYS = getattr(settings, "AUTHORIZATIONS_RENEWAL_NOTICE_DAYS", 30)
REFRESH_EVERY = timedelta(hours=24)
HISTORY_MONTHS = 24  # SMT keeps 24 months


today_chicago = clock.today  # the market day (one rule, opsadmin.clock)


def _reason(message: str, **params) -> dict[str, str]:
    """A status reason in every language (PUCT Subst. R. 25.473: the person may read Spanish);
    ``message`` is marked with ``gettext_noop`` where it is written."""
    return in_each_language(message, params)


def _event(
    authorization: UsageAuthorization,
    kind: str,
    *,
    from_status: str = "",
    note: str = "",
    actor=None,
) -> None:
    AuthorizationEvent.objects.create(
        authorization=authorization,
        kind=kind,
        from_status=from_status,
        to_status=authorization.status,
        note=note[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _set_status(
    authorization: UsageAuthorization,
    status: str,
    *,
    reason: dict[str, str] | None = None,
    actor=None,
    **fields,
) -> None:
    """Move to ``status`` with ``reason`` in each language (:func:`_reason`): staff read the
    English, the person reads theirs (``status_reason_es``)."""
    before = authorization.status
    # Only from the status we read: a duplicate or concurrent answer that another worker
    # already applied moves nothing and records nothing (never the same move twice).
    moved = UsageAuthorization.objects.filter(pk=authorization.pk, status=before).update(
        status=status
    )
    if not moved:
        authorization.refresh_from_db()
        return
    authorization.status = status
    reason = reason or {}
    authorization.status_reason = reason.get("en", "")[:200]
    authorization.status_reason_es = reason.get("es", "")[:200]
    for name, value in fields.items():
        setattr(authorization, name, value)
    authorization.save()
    _event(
        authorization, "status", from_status=before, note=authorization.status_reason, actor=actor
    )
    logger.info(
        "authorizations.status",
        extra={"authorization_id": authorization.pk, "from": before, "to": status},
    )


def _queue_request(authorization_id: int) -> None:
    from authorizations.tasks import agreement_request

    transaction.on_commit(lambda: agreement_request.delay(authorization_id))


def utility_for_esiid(esiid: str) -> Utility | None:
    """The ERCOT utility whose ESIID prefix matches (longest prefix wins)."""
    best: tuple[int, Utility] | None = None
    for utility in Utility.objects.filter(active=True, market=Utility.Market.ERCOT):
        for prefix in utility.esiid_prefixes or []:
            if prefix and esiid.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), utility)
    return best[1] if best else None


@transaction.atomic
def authorization_create(
    *,
    origin: str,
    channel: str,
    esiid: str,
    meter_number: str,
    email: str,
    language: str,
    customer_type: CustomerType,
    utility: Utility | None = None,
    prospect=None,
    prospect_address=None,
    actor=None,
    request_agreement: bool = True,
) -> UsageAuthorization:
    """Record who consents to what, and (after commit) ask SMT for the agreement.

    ``request_agreement=False`` makes a record for fallback data only (upload or typed
    figures) when the person cannot or will not consent through SMT.
    """
    esiid = esiid.strip()
    meter_number = meter_number.strip()
    if not ESIID_RE.match(esiid):
        raise ApplicationError(
            gettext("An ESIID is 17 or 22 digits starting with 10."), field="esiid"
        )
    utility = utility or utility_for_esiid(esiid)
    if utility is None:
        raise ApplicationError(
            gettext("We don't recognise the utility of that ESIID; check the number on your bill."),
            field="esiid",
        )
    if not utility.is_ercot:
        raise ApplicationError(
            gettext(
                "Smart Meter Texas serves ERCOT premises only; upload a Green Button file or "
                "enter your monthly usage instead."
            ),
            field="esiid",
        )
    if request_agreement and not meter_number:
        raise ApplicationError(
            gettext("Smart Meter Texas needs the meter number."), field="meter_number"
        )
    authorization = UsageAuthorization.objects.create(
        origin=origin,
        channel=channel,
        utility=utility,
        customer_type=customer_type,
        esiid=esiid,
        meter_number=meter_number,
        email=email.strip(),
        language=language if language in ("en", "es") else "en",
        prospect=prospect,
        prospect_address=prospect_address,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        status=Status.REQUESTED if request_agreement else Status.NOT_REQUESTED,
        duration_months=getattr(settings, "AUTHORIZATIONS_DURATION_MONTHS", 12),
        requested_at=timezone.now() if request_agreement else None,
    )
    _event(authorization, "created", actor=actor, note=authorization.get_origin_display())
    if request_agreement:
        _queue_request(authorization.pk)
    return authorization


def agreement_send(*, authorization: UsageAuthorization, client: SmtAgreementPort) -> None:
    """Send the NewAgreement request once (idempotent on our side: a stored number is kept;
    SMT's own trans_id is no idempotency key). SMT refusing it ends the request.

    Each attempt is recorded (committed) before the call. When an earlier attempt's answer
    was lost (connection dropped, gateway error, timeout after SMT acted), the agreement SMT
    made is found in ``/v2/myagreements/`` and adopted instead of asking the customer twice.
    """
    if authorization.status != Status.REQUESTED or authorization.agreement_number:
        return
    # attempts of this round only: a renewal starts a new round (requested_at moves on)
    attempts = authorization.events.filter(kind="send_attempt")
    if authorization.requested_at is not None:
        attempts = attempts.filter(at__gte=authorization.requested_at)
    attempted_before = attempts.exists()
    _event(authorization, "send_attempt")
    try:
        number = _agreement_lost_answer(authorization, client) if attempted_before else None
        try:
            number = number or client.agreement_create(
                esiid=authorization.esiid,
                meter_number=authorization.meter_number,
                email=authorization.email,
                language=authorization.language,
                duration_months=authorization.duration_months,
                puct_ror_number=getattr(settings, "REP_PUCT_CERTIFICATE_NUMBER", ""),
            )
        except MalformedAnswerError as exc:
            # SMT may have made the agreement and garbled only its answer: look for it.
            try:
                number = _agreement_lost_answer(authorization, client)
            except MalformedAnswerError:
                number = None
            if number is None:
                raise exc from None
            _event(authorization, "malformed_answer", note=str(exc))
    except MalformedAnswerError as exc:
        _set_status(
            authorization,
            Status.NOT_REQUESTED,
            reason=_reason(
                gettext_noop(
                    "Smart Meter Texas answered with a malformed response; ask again later."
                )
            ),
            last_error=str(exc)[:300],
        )
        return
    except PermanentIntegrationError as exc:
        _set_status(
            authorization,
            Status.NOT_REQUESTED,
            reason=_reason(
                gettext_noop(
                    "Smart Meter Texas refused the request; check the ESIID and meter number."
                )
            ),
            last_error=str(exc)[:300],
        )
        return
    now = timezone.now()
    authorization.agreement_number = number
    authorization.requested_at = now
    authorization.next_check_at = now + timedelta(seconds=1)
    authorization.last_error = ""
    authorization.save()
    _event(authorization, "sent", note=f"SMT agreement {number}")


def _agreement_lost_answer(
    authorization: UsageAuthorization, client: SmtAgreementPort
) -> str | None:
    """The agreement SMT made for an earlier attempt whose answer never reached us: same
    ESIID, meter and email, recorded by no authorization and not one this authorization
    held before a renewal."""
    candidates = [
        a
        for a in client.agreements_list()
        if authorization.esiid in a.esiids
        and authorization.meter_number in a.meter_numbers
        and a.email.lower() == authorization.email.lower()
        and a.status in ("PENDING", "ACTIVE", "DECLINED")
    ]
    known = set(
        UsageAuthorization.objects.filter(
            agreement_number__in=[a.number for a in candidates]
        ).values_list("agreement_number", flat=True)
    )
    # and the agreements this authorization held before a renewal (their "sent" events)
    known |= {
        note.removeprefix("SMT agreement ")
        for note in authorization.events.filter(kind="sent").values_list("note", flat=True)
    }
    orphans = [a.number for a in candidates if a.number not in known]
    if orphans:
        logger.info(
            "authorizations.agreement_adopted",
            extra={"authorization_id": authorization.pk, "agreement": orphans[-1]},
        )
    return orphans[-1] if orphans else None


def _next_check(authorization: UsageAuthorization, now: datetime) -> datetime:
    """Poll often while the person is likely at the screen, then back off."""
    waited = now - (authorization.requested_at or now)
    if waited < timedelta(minutes=5):
        return now + timedelta(seconds=2)
    if waited < timedelta(hours=1):
        return now + timedelta(minutes=1)
    return now + timedelta(minutes=15)


def agreement_check(*, authorization: UsageAuthorization, client: SmtAgreementPort) -> bool:
    """Ask SMT where the agreement stands; True when it just became approved (pull now)."""
    if not authorization.agreement_number or authorization.status not in (
        Status.REQUESTED,
        Status.APPROVED,
    ):
        return False
    now = timezone.now()
    agreement = client.agreement_get(number=authorization.agreement_number)
    authorization.last_checked_at = now
    if agreement.status == "PENDING":
        authorization.next_check_at = _next_check(authorization, now)
        authorization.save(update_fields=["last_checked_at", "next_check_at", "updated_at"])
        return False
    if agreement.status == "ACTIVE":
        if authorization.status == Status.APPROVED:
            if agreement.end and agreement.end != authorization.expires_on:
                authorization.expires_on = agreement.end
            authorization.save()
            return False
        _set_status(
            authorization,
            Status.APPROVED,
            reason=_reason(gettext_noop("Approved at Smart Meter Texas.")),
            approved_at=now,
            answered_at=now,
            expires_on=agreement.end,
            next_check_at=None,
            renewal_prompted_at=None,
        )
        return True
    if agreement.status == "DECLINED":
        _set_status(
            authorization,
            Status.DECLINED,
            reason=_reason(gettext_noop("Declined at Smart Meter Texas.")),
            answered_at=now,
            next_check_at=None,
        )
    elif agreement.status == "EXPIRED":
        _set_status(
            authorization,
            Status.EXPIRED,
            reason=_reason(gettext_noop("The agreement ended on %(date)s."), date=agreement.end)
            if agreement.end
            else _reason(gettext_noop("The agreement ended.")),
            next_check_at=None,
        )
    elif agreement.status == "TERMINATED":
        _set_status(
            authorization,
            Status.REVOKED,
            reason=_reason(gettext_noop("Ended at Smart Meter Texas.")),
            next_check_at=None,
        )
    return False


def _month_of_period(start: date, end: date) -> tuple[date, int]:
    """A billing period belongs to the calendar month holding its middle day."""
    middle = start + (end - start) / 2
    return middle.replace(day=1), (end - start).days + 1


def usage_pull_smt(*, authorization: UsageAuthorization, client: SmtPort) -> int:
    """Pull the person's monthly history (24 months) under an approved, unexpired agreement."""
    today = today_chicago()
    if authorization.status != Status.APPROVED:
        return 0
    if authorization.expires_on and authorization.expires_on < today:
        return 0
    end = today - timedelta(days=1)
    start = (end.replace(day=1) - timedelta(days=HISTORY_MONTHS * 31)).replace(day=1)
    reads = client.monthly_reads(esiid=authorization.esiid, start=start, end=end)
    months: dict[date, ParsedMonth] = {}
    for read in reads:
        if read.esiid != authorization.esiid:
            continue
        month, days = _month_of_period(read.start, read.end)
        months[month] = ParsedMonth(month=month, kwh=read.kwh, days=days)
    stored = months_store(
        authorization=authorization, months=list(months.values()), source=Source.SMT
    )
    UsageAuthorization.objects.filter(pk=authorization.pk).update(last_refresh_at=timezone.now())
    return stored


@transaction.atomic
def months_store(
    *,
    authorization: UsageAuthorization,
    months: Iterable[ParsedMonth],
    source: str,
    actor=None,
) -> int:
    """Replace the person's months with this source's (the newest source wins, whole)."""
    rows = [
        MonthlyUsage(
            authorization=authorization,
            month=m.month,
            kwh=m.kwh.quantize(Decimal("0.001")),
            days=m.days,
            source=source,
        )
        for m in months
    ]
    if not rows:
        return 0
    held = set(
        MonthlyUsage.objects.filter(authorization=authorization).values_list(
            "month", "kwh", "days", "source"
        )
    )
    if held == {(r.month, r.kwh, r.days, r.source) for r in rows}:
        return len(rows)  # the same file again: nothing changes, not even the timestamps
    MonthlyUsage.objects.filter(authorization=authorization).delete()
    MonthlyUsage.objects.bulk_create(rows)
    now = timezone.now()
    UsageAuthorization.objects.filter(pk=authorization.pk).update(
        data_source=source, data_at=now, updated_at=now
    )
    authorization.data_source, authorization.data_at = source, now
    _event(
        authorization,
        "usage",
        note=f"{len(rows)} months from {Source(source).label}",
        actor=actor,
    )
    return len(rows)


@dataclass(frozen=True)
class UploadResult:
    """What an upload stored, and what it left out (shown to the person)."""

    months: int
    parsed: ParsedUpload

    @property
    def message(self) -> str:
        parts = [f"{self.months} months of usage stored from your file."]
        if self.parsed.skipped_empty:
            parts.append(
                f"{self.parsed.skipped_empty} rows without a kWh value were skipped "
                "(Smart Meter Texas leaves the hour that clocks skip in spring empty)."
            )
        if self.parsed.generation:
            parts.append(
                f"Surplus generation ({self.parsed.generation_kwh.quantize(Decimal('0.1'))} kWh) "
                "is kept apart and not counted as usage."
            )
        parts.extend(self.parsed.notes)
        return " ".join(parts)


def usage_upload(
    *,
    authorization: UsageAuthorization,
    kind: str,
    data: bytes,
    usage_point: int | None = None,
    actor=None,
) -> UploadResult:
    """Store an uploaded SMT CSV or Green Button file (XML or ZIP); UploadRefused stores
    nothing. ``usage_point`` picks one meter of a Green Button file that holds several."""
    if kind == "smt_csv":
        parsed = parse_smt_csv(data, esiid=authorization.esiid)
        source = Source.SMT_CSV
    elif kind == "green_button":
        parsed = parse_green_button(data, usage_point=usage_point)
        source = Source.GREEN_BUTTON
    else:
        raise ApplicationError(gettext("Choose the kind of file."), field="kind")
    stored = months_store(
        authorization=authorization, months=parsed.months, source=source, actor=actor
    )
    return UploadResult(months=stored, parsed=parsed)


def usage_manual(
    *, authorization: UsageAuthorization, figures: list[tuple[date, Decimal]], actor=None
) -> int:
    """Store 12 monthly kWh figures typed from bills."""
    if len(figures) != 12:
        raise ApplicationError(gettext("Enter all 12 months."))
    months = []
    for month, kwh in figures:
        if kwh < 0 or kwh > Decimal("10000000"):
            raise ApplicationError(
                gettext("%(month)s: enter kWh between 0 and 10,000,000.")
                % {"month": dateformat.format(month, gettext("F Y"))}
            )
        days = ((month.replace(day=28) + timedelta(days=4)).replace(day=1) - month).days
        months.append(ParsedMonth(month=month, kwh=kwh, days=days))
    return months_store(
        authorization=authorization, months=months, source=Source.MANUAL, actor=actor
    )


@transaction.atomic
def authorization_renew(*, authorization: UsageAuthorization, actor=None) -> UsageAuthorization:
    """One step: a new agreement request with the same ESIID, meter, email and language.
    The data held so far stays on screen until the new agreement refreshes it."""
    authorization = UsageAuthorization.objects.select_for_update().get(pk=authorization.pk)
    if authorization.status == Status.REQUESTED and authorization.agreement_number:
        return authorization  # already asked; a double click changes nothing
    previous = authorization.agreement_number
    _set_status(
        authorization,
        Status.REQUESTED,
        reason=_reason(gettext_noop("Renewal requested (replaces %(number)s)."), number=previous)
        if previous
        else _reason(gettext_noop("Renewal requested.")),
        actor=actor,
        agreement_number="",
        requested_at=timezone.now(),
        answered_at=None,
        reminders_sent=0,
        last_reminder_at=None,
        last_error="",
    )
    _queue_request(authorization.pk)
    return authorization


def authorization_revoke(
    *, authorization: UsageAuthorization, client: SmtAgreementPort, actor=None
) -> None:
    """The person withdraws consent: end the agreement at SMT and stop refreshing."""
    if authorization.status not in (Status.REQUESTED, Status.APPROVED):
        raise ApplicationError(gettext("There is no active agreement to end."))
    if authorization.agreement_number:
        client.agreement_terminate(number=authorization.agreement_number)
    _set_status(
        authorization,
        Status.REVOKED,
        reason=_reason(gettext_noop("Consent withdrawn.")),
        actor=actor,
        next_check_at=None,
    )


def status_url(authorization: UsageAuthorization) -> str:
    base = getattr(settings, "PUBLIC_SITE_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("authorizations:status", args=[authorization.token])


def _mail(authorization: UsageAuthorization, subject: str, body: str, **params) -> None:
    """Email the person in the language they chose; ``subject`` and ``body`` are marked with
    ``gettext_noop`` where they are written."""
    email = authorization.email
    link = status_url(authorization)
    language = (
        authorization.language if authorization.language in dict(settings.LANGUAGES) else "en"
    )
    subject = in_each_language(subject)[language]
    body = in_each_language(body, params)[language]
    transaction.on_commit(
        lambda: send_mail(subject, f"{body}\n\n{link}\n", None, [email], fail_silently=False)
    )


def authorizations_maintain(
    *, now: datetime | None = None, refresh: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Periodic follow-up: reminders while pending, time-outs, renewal prompts before the
    agreement lapses, local expiry, and the daily refresh of approved agreements."""
    now = now or timezone.now()
    today = now.astimezone(clock.CHICAGO).date()
    counts = {"reminded": 0, "timed_out": 0, "prompted": 0, "expired": 0, "refreshed": 0}
    pending = UsageAuthorization.objects.filter(status=Status.REQUESTED)
    for auth in pending.filter(requested_at__lt=now - PENDING_TIMEOUT):
        with transaction.atomic():
            _set_status(
                auth,
                Status.EXPIRED,
                reason=_reason(
                    gettext_noop(
                        "Not approved in time: the request lapsed. Ask again or upload a file."
                    )
                ),
                next_check_at=None,
            )
        counts["timed_out"] += 1
    for auth in pending.filter(requested_at__lt=now - REMINDER_EVERY).exclude(
        reminders_sent__gte=MAX_REMINDERS
    ):
        last = auth.last_reminder_at or auth.requested_at
        if last and last > now - REMINDER_EVERY:
            continue
        with transaction.atomic():
            auth.reminders_sent += 1
            auth.last_reminder_at = now
            auth.save(update_fields=["reminders_sent", "last_reminder_at", "updated_at"])
            _event(auth, "reminder", note=f"Reminder {auth.reminders_sent} emailed")
            _mail(
                auth,
                gettext_noop("Reminder: approve sharing your usage"),
                gettext_noop(
                    "Smart Meter Texas emailed you a request to share your electricity usage "
                    "with us. Approve it there and we will price every plan on your own usage. "
                    "Check your request here:"
                ),
            )
        counts["reminded"] += 1
    approved = UsageAuthorization.objects.filter(status=Status.APPROVED)
    for auth in approved.filter(expires_on__lt=today):
        with transaction.atomic():
            _set_status(
                auth,
                Status.EXPIRED,
                reason=_reason(
                    gettext_noop("The agreement ended on %(date)s; refreshes stopped."),
                    date=auth.expires_on,
                ),
            )
            _mail(
                auth,
                gettext_noop("Your usage sharing has ended"),
                gettext_noop(
                    "Your Smart Meter Texas data-sharing agreement with us has ended, so we no "
                    "longer refresh your usage. You can renew it in one step here:"
                ),
            )
        counts["expired"] += 1
    notice_from = today + timedelta(days=RENEWAL_NOTICE_DAYS)
    for auth in approved.filter(
        expires_on__gte=today, expires_on__lte=notice_from, renewal_prompted_at__isnull=True
    ):
        with transaction.atomic():
            auth.renewal_prompted_at = now
            auth.save(update_fields=["renewal_prompted_at", "updated_at"])
            _event(auth, "renewal_prompt", note=f"Ends {auth.expires_on:%m/%d/%Y}")
            _mail(
                auth,
                gettext_noop("Renew sharing your usage"),
                gettext_noop(
                    "Your Smart Meter Texas data-sharing agreement with us ends on %(date)s. "
                    "Renew it in one step here:"
                ),
                date=auth.expires_on,
            )
        counts["prompted"] += 1
    due = approved.filter(expires_on__gte=today).exclude(last_refresh_at__gt=now - REFRESH_EVERY)
    for auth_id in due.values_list("pk", flat=True):
        if refresh is not None:
            refresh(auth_id)
        counts["refreshed"] += 1
    return counts


def renewal_due(authorization: UsageAuthorization) -> bool:
    """True while an approved agreement is within the renewal notice window."""
    if authorization.status != Status.APPROVED or authorization.expires_on is None:
        return False
    return authorization.expires_on <= today_chicago() + timedelta(days=RENEWAL_NOTICE_DAYS)


def check_due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending requests whose next SMT status check is due."""
    now = now or timezone.now()
    return list(
        UsageAuthorization.objects.filter(status=Status.REQUESTED, next_check_at__lte=now)
        .exclude(agreement_number="")
        .values_list("pk", flat=True)[:limit]
    )


def check_claim(*, authorization: UsageAuthorization, seconds: float = 2.0) -> bool:
    """Claim the next status check (the status page polls; many tabs must not mean many SMT
    calls): True for exactly one caller per ``seconds``."""
    now = timezone.now()
    claimed = (
        UsageAuthorization.objects.filter(
            pk=authorization.pk, status=Status.REQUESTED, next_check_at__lte=now
        )
        .exclude(agreement_number="")
        .update(next_check_at=now + timedelta(seconds=seconds))
    )
    return claimed == 1
