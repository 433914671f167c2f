"""Questions about renewal notices: the screen's list and the export's rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date

from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, NullIf, TruncDate

from opsadmin import clock
from renewals.models import RenewalNotice

MARKET_TZ = clock.CHICAGO  # market days


@dataclass(frozen=True)
class RenewalFilters:
    end_from: date | None = None
    end_to: date | None = None
    utility_id: int | None = None
    channel: str = ""
    sent: bool | None = None
    q: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("end_from", "end_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> RenewalFilters:
        data = dict(data or {})
        for key in ("end_from", "end_to"):
            data[key] = date.fromisoformat(data[key]) if data.get(key) else None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def renewal_notices(*, filters: RenewalFilters) -> QuerySet[RenewalNotice]:
    qs = RenewalNotice.objects.all()
    if filters.end_from:
        qs = qs.filter(contract_end_date__gte=filters.end_from)
    if filters.end_to:
        qs = qs.filter(contract_end_date__lte=filters.end_to)
    if filters.utility_id:
        qs = qs.filter(enrollment__service_account__utility_id=filters.utility_id)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.sent is not None:
        qs = qs.filter(sent=filters.sent)
    if filters.q:
        q = filters.q.strip()
        qs = qs.filter(
            Q(enrollment__customer__last_name__icontains=q)
            | Q(enrollment__customer__company_name__icontains=q)
            | Q(enrollment__billing_account_number=q)
            | Q(enrollment__service_account__esiid__startswith=q)
        )
    return qs


def renewal_notice_page_rows(*, filters: RenewalFilters) -> QuerySet[RenewalNotice]:
    """For the screen: notices with what each row shows, in export order."""
    return (
        renewal_notices(filters=filters)
        .select_related(
            "enrollment__customer", "enrollment__service_account__utility", "enrollment__plan"
        )
        .order_by("contract_end_date", "enrollment_id", "sequence")
    )


EXPORT_HEADERS = (
    "Customer",
    "Billing Account Number",
    "ESIID",
    "Utility",
    "Current ESG Plan Code",
    "Default Plan Code",
    "Contract End Date",
    "Notice #",
    "Scheduled Date",
    "Notice Type",
    "Notice Sent",
    "Sent Date",
    "Notice Language",
)
_CHANNEL_LABEL = {"email": "Email", "letter": "Letter"}
_LANGUAGE_LABEL = {"en": "English", "es": "Spanish"}


def notice_language_label(language: str, fallback_from: str = "") -> str:
    """ "Spanish"; "English (no Spanish template)" when the customer's language had none."""
    label = _LANGUAGE_LABEL.get(language, language)
    if fallback_from:
        label += f" (no {_LANGUAGE_LABEL.get(fallback_from, fallback_from)} template)"
    return label


_YES_NO = {True: "Yes", False: "No"}


def renewal_notice_rows(*, filters: RenewalFilters, chunk_size: int = 5000) -> Iterator[tuple]:
    """Export rows (``EXPORT_HEADERS`` order), streamed from a server-side cursor.

    Everything but two label look-ups is done by the database, so memory stays flat and the
    per-row Python work is small. Sent date is the market (America/Chicago) day.
    """
    customer_name = Coalesce(
        NullIf(F("enrollment__customer__company_name"), Value("")),
        Concat(
            F("enrollment__customer__first_name"),
            Value(" "),
            F("enrollment__customer__last_name"),
            output_field=CharField(),
        ),
        output_field=CharField(),
    )
    qs = (
        renewal_notices(filters=filters)
        .order_by("contract_end_date", "enrollment_id", "sequence")
        .annotate(
            _customer=customer_name,
            _sent_on=TruncDate("sent_at", tzinfo=MARKET_TZ),
            _language=Coalesce(
                NullIf(F("language"), Value("")),
                F("enrollment__customer__language"),
                output_field=CharField(),
            ),
        )
        .values_list(
            "_customer",
            "enrollment__billing_account_number",
            "enrollment__service_account__esiid",
            "enrollment__service_account__utility__name",
            "current_plan_code",
            "default_plan_code",
            "contract_end_date",
            "sequence",
            "scheduled_for",
            "channel",
            "sent",
            "_sent_on",
            # sent: the language it went out in; not yet: the customer's language now
            "_language",
            "language_fallback_from",
        )
    )
    channel_label = _CHANNEL_LABEL
    yes_no = _YES_NO
    languages: dict[tuple[str, str], str] = {}
    for (
        c,
        ban,
        esiid,
        util,
        cur,
        dflt,
        end,
        seq,
        sched,
        ch,
        sent,
        sent_on,
        lang,
        fell_back,
    ) in qs.iterator(chunk_size=chunk_size):
        key = (lang, fell_back)
        language = languages.get(key)
        if language is None:
            language = languages[key] = notice_language_label(lang, fell_back)
        yield (
            c,
            ban,
            esiid,
            util,
            cur,
            dflt,
            end,
            seq,
            sched,
            channel_label[ch],
            yes_no[sent],
            sent_on,
            language,
        )
