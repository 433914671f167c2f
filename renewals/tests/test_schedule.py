"""Notice dates (PURA §39.112) and the daily scheduling / sending."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from enrollments.models import Enrollment
from notices.models import Letter
from notices.services import letter_mark_mailed
from opsadmin.management import journeys as lifecycle
from renewals.models import RenewalNotice, RenewalSetup
from renewals.schedule import months_before, notice_dates
from renewals.services import renewal_notices_schedule, renewal_notices_send_due
from renewals.tasks import renewals_daily
from renewals.tests import factories as f


def test_twelve_month_term_three_notices_in_last_third_last_30_days_before():
    dates = notice_dates(end_date=date(2026, 1, 1), term_months=12)
    # Term 2025-01-01..2026-01-01 = 365 days; last third starts 121 days before the end.
    assert dates == [date(2025, 9, 2), date(2025, 10, 17), date(2025, 12, 2)]
    assert (date(2026, 1, 1) - dates[-1]).days == 30


def test_three_month_term_last_notice_15_days_before():
    dates = notice_dates(end_date=date(2025, 4, 1), term_months=3)
    # 90-day term: last third from 2025-03-02; final notice 15 days before expiry.
    assert dates == [date(2025, 3, 2), date(2025, 3, 9), date(2025, 3, 17)]


def test_four_month_term_is_not_short():
    dates = notice_dates(end_date=date(2025, 5, 1), term_months=4)
    assert dates[-1] == date(2025, 4, 1)  # 30 days


def test_actual_start_date_is_used_when_known_and_variable_products_get_one_notice():
    assert notice_dates(end_date=date(2026, 1, 1), term_months=12, start_date=date(2025, 1, 31))[
        0
    ] == date(2025, 9, 12)  # 335-day term: last 111 days
    assert notice_dates(end_date=date(2026, 1, 1), term_months=1, fixed_rate=False) == [
        date(2025, 11, 17)
    ]


def test_months_before_clamps_to_month_end():
    assert months_before(date(2025, 3, 31), 1) == date(2025, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)


@pytest.mark.django_db
def test_schedule_creates_notices_once_with_plan_codes_and_channel():
    renewal = f.plan("MTM", term_months=1)
    plan = f.plan("FIX12", term_months=12, renewal=renewal)
    e = f.enrollment(end=date(2026, 1, 1), plan_obj=plan, preference="letter")
    short = f.enrollment(end=date(2025, 4, 1), plan_obj=f.plan("FIX3", term_months=3))
    f.enrollment(end=date(2026, 1, 1), status=Enrollment.Status.DROPPED)  # no notices
    f.enrollment(end=date(2027, 6, 1))  # beyond the look-ahead (400 days)

    assert renewal_notices_schedule(today=date(2025, 1, 10)) == 6
    assert renewal_notices_schedule(today=date(2025, 1, 11)) == 0  # idempotent
    rows = list(RenewalNotice.objects.filter(enrollment=e).order_by("sequence"))
    assert [(n.sequence, n.scheduled_for, n.channel) for n in rows] == [
        (1, date(2025, 9, 2), "letter"),
        (2, date(2025, 10, 17), "letter"),
        (3, date(2025, 12, 2), "letter"),
    ]
    assert {(n.current_plan_code, n.default_plan_code) for n in rows} == {("FIX12", "MTM")}
    assert list(
        RenewalNotice.objects.filter(enrollment=short).values_list("scheduled_for", flat=True)
    ) == [date(2025, 3, 2), date(2025, 3, 9), date(2025, 3, 17)]


@pytest.mark.django_db
def test_due_email_sent_letter_queued_then_mailed(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    by_email = f.enrollment(
        end=date(2025, 4, 1), plan_obj=f.plan("FIX3", term_months=3), ban="B-77"
    )
    by_letter = f.enrollment(
        end=date(2025, 4, 1), plan_obj=f.plan("FIX3", term_months=3), preference="letter"
    )
    renewal_notices_schedule(today=date(2025, 3, 1))
    counts = renewal_notices_send_due(today=date(2025, 3, 2))
    assert counts == {"sent": 1, "queued": 1}

    email_notice = RenewalNotice.objects.get(enrollment=by_email, sequence=1)
    assert email_notice.sent is True and email_notice.status == "sent"
    assert email_notice.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Contract Expiration Notice. See Enclosed."
    assert message.to == [by_email.customer.email]
    html = message.alternatives[0][0]
    assert "<strong><u>April 1, 2025</u></strong>" in html
    assert "Billing account number: B-77" in html

    letter_notice = RenewalNotice.objects.get(enrollment=by_letter, sequence=1)
    assert (letter_notice.status, letter_notice.sent) == ("queued", False)
    letter = Letter.objects.get(subject_type="renewal_notice", subject_id=letter_notice.pk)
    assert letter.recipient_name == "Ana Lopez"
    assert "April 1, 2025" in letter.body_html

    mailed = datetime(2025, 3, 3, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
    letter_mark_mailed(letter=letter, at=mailed)
    letter_notice.refresh_from_db()
    assert (letter_notice.status, letter_notice.sent, letter_notice.sent_at) == (
        "sent",
        True,
        mailed,
    )

    # Not due yet: nothing else goes out; sending again sends nothing twice.
    assert renewal_notices_send_due(today=date(2025, 3, 2)) == {}
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_dropped_enrollment_notice_is_cancelled_and_missing_template_kept_for_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    plan = f.plan("FIX3", term_months=3)
    dropped = f.enrollment(end=date(2025, 4, 1), plan_obj=plan)
    kept = f.enrollment(end=date(2025, 4, 1), plan_obj=plan)
    renewal_notices_schedule(today=date(2025, 3, 1))
    lifecycle.end_service(dropped, on=date(2025, 3, 2))  # the customer left before the end
    setup = RenewalSetup.load()
    setup.email_template = None
    setup.save()
    assert renewal_notices_send_due(today=date(2025, 3, 2)) == {"cancelled": 1, "scheduled": 1}
    notice = RenewalNotice.objects.get(enrollment=kept, sequence=1)
    assert notice.last_error == "ApplicationError: No email template set."
    assert notice.attempts == 1 and notice.sent is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_daily_task_runs_schedule_and_send(settings, market_clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    f.enrollment(end=date(2025, 4, 1), plan_obj=f.plan("FIX3", term_months=3))
    market_clock.set(date(2025, 3, 9))  # the market day the task runs on
    assert renewals_daily.apply().get() == {"scheduled": 3, "sent": 2}
    assert len(mail.outbox) == 2
