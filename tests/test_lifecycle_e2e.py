"""A customer's whole life, once per channel, through a real worker, the simulators and the
market clock: submitted -> accepted -> active (contract dates) -> SMT data on the dashboard
-> renewal notices scheduled and sent on the PURA 39.112 dates -> Cancel in My Account ->
drop acknowledged -> final on its date, history still visible.

Nothing sets a status or a date: the channels' own screens and APIs submit, the worker talks
to the ESG and SMT simulators over HTTP, the beat tasks are run by the worker when the test
moves the clock (as beat would run them that day), and the customer and staff look at the
pages a person would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes
from importlib import import_module
from pathlib import Path

import httpx
import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from billing.tasks import billing_prospect_status_poll, billing_service_orders_poll
from conftest import wait_until
from drops.models import DropRequest
from enrollments.dates import add_months, earliest_start_date
from enrollments.models import Enrollment
from enrollments.tests.factories import ensure_reference_data
from enrollments.tests.test_quick import run_to_review, submit
from enrollments.tests.test_wizard import wizard_to_review, wstep
from opsadmin import clock
from opsadmin.models import User
from partners.models import ImportBatch
from partners.services import api_key_create, partner_get_or_create
from renewals.models import RenewalNotice, RenewalSetup
from renewals.schedule import notice_dates
from renewals.tasks import renewals_daily
from usage.models import UsageSyncState
from usage.tasks import smt_refresh_all

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def messages_to(mailbox: Path, address: str) -> list:
    found = []
    for file in sorted(mailbox.glob("*.log")):
        for chunk in file.read_bytes().split(b"-" * 79):
            if chunk.strip():
                msg = message_from_bytes(chunk.strip())
                if address.lower() in (msg["To"] or "").lower():
                    found.append(msg)
    return found


def body_of(msg) -> str:
    parts = msg.walk() if msg.is_multipart() else [msg]
    return "".join(
        p.get_payload(decode=True).decode() for p in parts if p.get_content_type() == "text/plain"
    )


@pytest.fixture
def world(mailbox, simulators_url, celery_worker, market_clock):
    # the rows the migrations seed (consent methods, renewal notice templates), which an
    # earlier transactional test's flush deletes
    ensure_reference_data()
    import_module("renewals.migrations.0002_default_templates").create(django_apps, None)
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    httpx.post(f"{simulators_url}/esg/_config", json={"pending_seconds": 0.2}).raise_for_status()
    return {"sim": simulators_url, "clock": market_clock, "mailbox": mailbox}


def staff_client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


# --- the four channels ------------------------------------------------------------------------


def by_quick_enrollment(esiid: str) -> Enrollment:
    agent = staff_client("agent")
    draft = run_to_review(agent, esiid=esiid, email=f"qe{esiid[-4:]}@example.com", language="en")
    assert submit(agent, draft).status_code == 303
    return Enrollment.objects.get(esiid=esiid)


def by_signup_wizard(esiid: str) -> Enrollment:
    shopper = Client()
    draft = wizard_to_review(
        shopper, esiid=esiid, email=f"web{esiid[-4:]}@example.com", language="en"
    )
    review = {"idempotency_token": str(draft.token), "ack_efl": "on", "ack_tos": "on"}
    review.update({"ack_yrac": "on", "ack_rescission": "on"})
    assert wstep(shopper, draft, "review", review).status_code == 303
    return Enrollment.objects.get(esiid=esiid)


def by_enrollment_api(esiid: str) -> Enrollment:
    partner = partner_get_or_create(name="Acme Sales")[0]
    key = api_key_create(partner=partner)[1]
    body = {
        "partner_reference": f"R-{esiid[-4:]}",
        "zip_code": "75201",
        "utility_code": "oncor",
        "customer_type_code": "residential",
        "plan_code": "SAVER12",
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": f"api{esiid[-4:]}@example.com",
        "esiid": esiid,
        "address_line1": "12 Elm St",
        "city": "Dallas",
        "requested_start_date": earliest_start_date("switch").isoformat(),
    }
    response = Client().post(
        "/api/v1/enrollments",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY=f"life-{esiid}",
    )
    assert response.status_code == 201, response.content
    enrollment = Enrollment.objects.get(pk=response.json()["id"])
    API_KEYS[enrollment.pk] = key
    return enrollment


API_KEYS: dict[int, str] = {}


def api_status(enrollment: Enrollment) -> dict:
    """What the partner who sent the enrollment reads back from the API."""
    key = API_KEYS[enrollment.pk]
    response = Client().get(
        f"/api/v1/enrollments/{enrollment.pk}", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 200
    return response.json()


def by_sales_importer(esiid: str) -> Enrollment:
    from partners.importfile import COLUMN_NAMES

    partner = partner_get_or_create(name="Bravo TPV")[0]
    row = dict.fromkeys(COLUMN_NAMES, "")
    row.update(
        partner_reference="S-1",
        zip_code="75201",
        utility_code="oncor",
        customer_type_code="residential",
        plan_code="SAVER12",
        first_name="Imported",
        last_name="Garcia",
        email=f"imp{esiid[-4:]}@example.com",
        esiid=esiid,
        address_line1="7 Main St",
        city="Dallas",
        state="TX",
        requested_start_date=earliest_start_date("switch").isoformat(),
    )
    content = ",".join(COLUMN_NAMES) + "\n" + ",".join(row[c] for c in COLUMN_NAMES) + "\n"
    response = staff_client("ops").post(
        "/partners/imports/",
        {"partner": partner.pk, "file": SimpleUploadedFile("sales.csv", content.encode())},
    )
    assert response.status_code == 302
    wait_until(lambda: ImportBatch.objects.filter(state="done").exists(), timeout=60)
    return Enrollment.objects.get(esiid=esiid)


# --- what a person sees ---------------------------------------------------------------------


def customer_client(enrollment: Enrollment) -> Client:
    client = Client()
    client.force_login(enrollment.customer.user)
    return client


def dashboard(client: Client) -> str:
    response = client.get("/myaccount/")
    assert response.status_code == 200
    return response.content.decode()


def staff_details(enrollment: Enrollment) -> str:
    response = staff_client("agent").get(f"/enrollments/{enrollment.pk}/")
    assert response.status_code == 200
    return response.content.decode()


CANCEL_LINK = 'href="/myaccount/manage/cancel/"'


def run(task, **kwargs):
    """Run a beat task on the real worker and return its result."""
    return task.apply_async(kwargs=kwargs).get(timeout=60)


def poll_until(pk: int, wanted: str) -> Enrollment:
    def reached():
        run(billing_prospect_status_poll)
        return Enrollment.objects.filter(pk=pk, status=wanted).first()

    return wait_until(reached, timeout=30, interval=0.3)


# --- the life -------------------------------------------------------------------------------


def walk_a_life(world, enrollment: Enrollment, *, needs_release: bool) -> None:
    mc, mailbox = world["clock"], world["mailbox"]
    pk = enrollment.pk
    # Submitted; the worker sends Create Prospect; ESG acknowledges.
    wait_until(lambda: Enrollment.objects.filter(pk=pk, status="pending").exists(), timeout=90)
    enrollment.customer.refresh_from_db()
    # Quick Enrollment and the Signup Wizard give the customer a login at once; a partner's
    # customer gets theirs when service starts.
    has_login = enrollment.customer.user_id is not None
    assert has_login == (enrollment.channel in ("quick", "wizard"))

    accepted = poll_until(pk, "accepted")
    requested = accepted.requested_start_date
    assert requested is not None and requested > clock.today()
    assert accepted.billing_account_number.startswith("BA")
    if has_login:
        html = dashboard(customer_client(enrollment))
        assert f"Your service is scheduled to start on {requested:%B %-d, %Y}." in html
        assert "Set when your service starts" in html
        assert CANCEL_LINK not in html  # nothing to cancel online before service starts
    assert not UsageSyncState.objects.filter(service_account_id=accepted.service_account_id)
    assert not RenewalNotice.objects.filter(enrollment_id=pk).exists()
    assert "Not started" in staff_details(accepted)

    # The requested day comes: ERCOT completes the switch, the product starts service.
    mc.set(requested - timedelta(days=1))
    assert run(billing_prospect_status_poll)["active"] == 0  # not a day early
    mc.set(requested)
    active = poll_until(pk, "active")
    term = active.plan.term_months
    end = add_months(requested, term)
    assert (active.service_start_date, active.contract_start_date) == (requested, requested)
    assert active.contract_end_date == end
    assert [e.to_status for e in active.events.all()] == [
        "submitted",
        "pending",
        "accepted",
        "active",
    ]
    email = active.customer.email
    login = wait_until(
        lambda: User.objects.filter(customer__pk=active.customer_id).first(), timeout=30
    )
    if not has_login:  # welcomed at service start: a login and the set-password link
        welcome = wait_until(lambda: messages_to(mailbox, email), timeout=30)
        assert f"{settings.PUBLIC_BASE_URL}/myaccount/set-password/" in body_of(welcome[0])
    me = Client()
    me.force_login(login)
    if active.pk in API_KEYS:  # the partner sees the life cycle too
        seen = api_status(active)
        assert (seen["status"], seen["service_start_date"]) == ("active", requested.isoformat())
        assert seen["contract_end_date"] == end.isoformat()
    details = staff_details(active)
    assert f'data-testid="service-start">{requested:%Y-%m-%d}<' in details
    assert f"{requested:%Y-%m-%d} to {end:%Y-%m-%d}" in details

    # Service start queued the first SMT pull; a few days on, the daily refresh brings more.
    sa = active.service_account_id
    wait_until(
        lambda: UsageSyncState.objects.filter(
            service_account_id=sa, data_through=requested - timedelta(days=1)
        ).exists(),
        timeout=60,
    )
    mc.set(requested + timedelta(days=5))
    assert run(smt_refresh_all)["queued"] >= 1
    through = requested + timedelta(days=4)
    wait_until(
        lambda: UsageSyncState.objects.filter(service_account_id=sa, data_through=through).exists(),
        timeout=60,
    )
    html = dashboard(me)
    assert f"Active since {requested:%B %-d, %Y}." in html
    assert f"{end:%B %-d, %Y}" in html  # contract end date
    assert f"Usage data through {through:%B %-d, %Y}." in html
    assert "Smart Meter Texas" in html
    assert CANCEL_LINK in html  # Manage > Cancel / Move Out now offered

    # Renewal notices: scheduled once the contract is within the look-ahead, on PURA 39.112
    # dates, each sent on its day (not before).
    setup = RenewalSetup.load()
    mc.set(end - timedelta(days=setup.lookahead_days))
    assert run(renewals_daily)["scheduled"] == setup.notice_count
    expected = notice_dates(
        end_date=end,
        term_months=term,
        start_date=requested,
        count=setup.notice_count,
        final_days=setup.final_notice_days,
    )
    notices = list(RenewalNotice.objects.filter(enrollment_id=pk).order_by("sequence"))
    assert [n.scheduled_for for n in notices] == expected
    assert expected[-1] <= end - timedelta(days=30)
    already = len(messages_to(mailbox, email))
    for n, day in enumerate(expected, start=1):
        mc.set(day - timedelta(days=1))
        run(renewals_daily)
        assert RenewalNotice.objects.filter(enrollment_id=pk, sent=True).count() == n - 1
        mc.set(day)
        run(renewals_daily)
        assert RenewalNotice.objects.filter(enrollment_id=pk, sent=True).count() == n
    assert len(messages_to(mailbox, email)) == already + setup.notice_count

    # Cancel in My Account (Manage > Cancel / Move Out), effective in ten days.
    asked = expected[-1] + timedelta(days=1)
    mc.set(asked)
    drop_day = asked + timedelta(days=10)
    index = me.get("/myaccount/manage/cancel/").content.decode()
    confirm = f"/myaccount/manage/cancel/{sa}/cancel/"
    assert confirm in index
    assert me.get(confirm).status_code == 200
    response = me.post(f"{confirm}form/", {"requested_date": drop_day.isoformat(), "reason": "CR"})
    assert response.status_code == 302, response.content.decode()[:2000]
    drop = DropRequest.objects.get(enrollment_id=pk)
    if needs_release:  # CenterPoint holds drops for retention; Ops releases this one
        assert drop.status == "held"
        ops = staff_client("ops")
        assert ops.post(f"/drops/{drop.pk}/release/", {"confirmed": "yes"}).status_code in (
            200,
            302,
        )
    wait_until(lambda: DropRequest.objects.filter(pk=drop.pk, status="sent").exists(), timeout=30)
    assert Enrollment.objects.get(pk=pk).status == "active"  # acknowledged, not effective
    assert run(billing_service_orders_poll)["checked"] == 0  # nothing due before its day

    # The drop's day: ESG reports it effective; service ends; history stays.
    mc.set(drop_day)
    assert run(billing_service_orders_poll)["completed"] == 1
    final = Enrollment.objects.get(pk=pk)
    assert (final.status, final.service_end_date) == ("dropped", drop_day)
    assert [e.to_status for e in final.events.all()][-1] == "dropped"
    html = dashboard(me)
    assert f"Your service with us ended on {drop_day:%B %-d, %Y}." in html
    assert CANCEL_LINK not in html
    usage = me.get("/myaccount/usage/").content.decode()
    assert "Smart Meter Texas" in usage  # the history is still theirs to read
    assert f'data-testid="service-end">{drop_day:%Y-%m-%d}<' in staff_details(final)
    if final.pk in API_KEYS:
        seen = api_status(final)
        assert (seen["status"], seen["service_end_date"]) == ("dropped", drop_day.isoformat())
    # Refreshes stopped: the daily refresh no longer visits the premise.
    from usage.selectors import active_smt_service_account_ids

    assert sa not in active_smt_service_account_ids()


def test_quick_enrollment_customer_life(world):
    walk_a_life(world, by_quick_enrollment("1008901000000000031001"), needs_release=True)


def test_signup_wizard_customer_life(world):
    walk_a_life(world, by_signup_wizard("1008901000000000031002"), needs_release=True)


def test_enrollment_api_customer_life(world):
    walk_a_life(world, by_enrollment_api("10443720000031003"), needs_release=False)


def test_sales_importer_customer_life(world):
    walk_a_life(world, by_sales_importer("10443720000031004"), needs_release=False)


# --- the market's surprises ------------------------------------------------------------------


def test_market_surprises_rejection_early_move_in_and_contract_end(world):
    """In one market: a switch rejected after acceptance (a competing enrollment completes
    first: ESG simulator ESIID ending 77777), a move-in the TDSP completes 2 days before the
    requested date (ending 66666), and the demo customer's contract reaching its end with no
    renewal (she moves to month-to-month; the billing system hears of it exactly once)."""
    from billing.models import BillingRequest
    from enrollments.tasks import contracts_roll_over_task

    agent = staff_client("agent")
    switch = by_quick_enrollment("1008901000000000077777")
    moved_on = clock.today() + timedelta(days=10)
    while moved_on.weekday() >= 5:
        moved_on += timedelta(days=1)
    draft = run_to_review(
        agent,
        esiid="1008901000000000066666",
        email="mover@example.com",
        language="en",
        enrollment_type="move_in",
        requested_start_date=moved_on.isoformat(),
    )
    assert submit(agent, draft).status_code == 303
    move_in = Enrollment.objects.get(esiid="1008901000000000066666")
    both = (switch.pk, move_in.pk)
    # both acknowledged first: one status poll asks about every prospect not yet final
    wait_until(
        lambda: Enrollment.objects.filter(pk__in=both, status="pending").count() == 2, timeout=90
    )
    for pk in both:
        poll_until(pk, "accepted")

    actual = moved_on - timedelta(days=2)  # the TDSP finished early
    assert actual > Enrollment.objects.get(pk=switch.pk).requested_start_date
    world["clock"].set(actual)
    rejected = poll_until(switch.pk, "rejected")
    active = Enrollment.objects.get(pk=move_in.pk)

    # the rejected switch: told, no service, no usage, the premise free again
    assert "competing enrollment" in rejected.rejection_reason
    assert [e.to_status for e in rejected.events.all()][-2:] == ["accepted", "rejected"]
    assert rejected.service_start_date is None and rejected.contract_end_date is None
    assert "Your enrollment could not be completed" in dashboard(customer_client(rejected))
    assert not UsageSyncState.objects.filter(service_account_id=rejected.service_account_id)
    assert not Enrollment.objects.filter(
        esiid=rejected.esiid, status__in=Enrollment.OPEN_STATUSES
    ).exists()

    # the early move-in: service and contract from the actual day, both dates recorded
    assert active.status == "active"
    assert (active.requested_start_date, active.service_start_date) == (moved_on, actual)
    assert active.contract_start_date == actual
    assert active.contract_end_date == add_months(actual, active.plan.term_months)
    note = active.events.last().note
    assert note == f"Service started {actual.isoformat()} (requested {moved_on.isoformat()})."
    assert run(billing_prospect_status_poll)["checked"] == 0  # both final: nothing to ask

    # the demo customer's contract ends without a renewal: month-to-month from that day
    dana = Enrollment.objects.get(esiid="1008901023806680370100")
    end = dana.contract_end_date
    world["clock"].set(end - timedelta(days=1))
    assert run(contracts_roll_over_task) == {"rolled": 0, "no_plan": 0}
    world["clock"].set(end)
    assert run(contracts_roll_over_task) == {"rolled": 1, "no_plan": 0}
    assert run(contracts_roll_over_task) == {"rolled": 0, "no_plan": 0}  # once
    dana.refresh_from_db()
    assert (dana.status, dana.plan.code) == ("active", "MTM")
    assert (dana.contract_start_date, dana.contract_end_date) == (end, None)
    assert "Month to month" in dashboard(customer_client(dana))
    assert "moved from SAVER12 to MTM" in dana.events.last().note
    change = wait_until(
        lambda: BillingRequest.objects.filter(
            kind="plan_change", subject_id=dana.pk, state="sent"
        ).first(),
        timeout=30,
    )
    assert change.payload["plan_code"] == "MTM" and change.attempts == 1
    assert httpx.get(f"{world['sim']}/esg/_stats").json()["plan_changes"] == 1
