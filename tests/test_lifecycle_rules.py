"""The life cycle's rules that are not a walk: who reacts to what (and that the map says so),
that nothing outside the product's flows writes a life-cycle state, the market clock, the
transition table, and the stuck-enrollments screen."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from enrollments.dates import add_months, business_days_between, subtract_business_days
from enrollments.models import Enrollment
from enrollments.services import TRANSITIONS, contract_dates, enrollment_transition
from opsadmin import clock, events
from opsadmin.errors import ApplicationError
from opsadmin.management import journeys
from opsadmin.models import User

ROOT = Path(__file__).resolve().parent.parent


def test_the_map_lists_every_subscriber_of_every_event():
    """docs/architecture.md's event table and the registered subscribers are the same."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    documented = {}
    for name, subscribers in re.findall(r"^\| `(\w+)` \|[^|]*\| (.*) \|$", text, re.M):
        documented[name] = sorted(re.findall(r"`([\w.]+)`", subscribers))
    registered = {name: sorted(subs) for name, subs in events.subscribers_by_event().items()}
    assert documented == registered
    # and the answer to "who reacts to a service start" is not empty
    assert registered["ServiceStarted"] == [
        "enrollments.subscriptions.on_service_started",
        "usage.subscriptions.on_service_started",
    ]


# Writes of a life-cycle status or date outside the product's own flows.
DIRECT_WRITE = re.compile(
    r"Enrollment\.objects\.filter\([^)]*\)\.update\([^)]*\b(status|service_start_date"
    r"|contract_start_date|contract_end_date|service_end_date)\s*="
    r"|\.(status|contract_start_date|contract_end_date|service_start_date|service_end_date)"
    r"\s*=\s*[^=\s]"
    r"|Enrollment\.objects\.(create|update_or_create|get_or_create)\([^)]*\b(status"
    r"|contract_start_date|contract_end_date|service_start_date|service_end_date)="
)


def _scanned_files():
    for folder in ROOT.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        for path in folder.rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel:
                continue
            if "/tests/" in f"/{rel}" or "/management/commands/" in rel:
                yield rel, path


def test_no_test_or_command_writes_a_life_cycle_state_directly():
    """Every state a customer can be in is reached through the product's flows: tests and
    commands never set an enrollment's status or life-cycle dates on rows. (Keyword
    arguments naming a wanted date, e.g. ``contract_end=...`` handed to a journey, are not
    writes; the transition table's own unit tests below call ``enrollment_transition``.)"""
    offenders = []
    for rel, path in _scanned_files():
        if rel == "tests/test_lifecycle_rules.py":
            continue
        # statements joined across lines, so multi-line calls are seen whole
        flat = re.sub(r"\s*\n\s*", " ", path.read_text())
        offenders += [f"{rel}: {m.group(0)}" for m in DIRECT_WRITE.finditer(flat)]
    # the one allowed: the database-invariant test inserts what a racing submit inserts
    allowed = {"enrollments/tests/test_esiid_unique.py"}
    assert [o for o in offenders if o.split(":")[0] not in allowed] == []


def test_the_scan_would_catch_a_direct_write():
    samples = [
        'Enrollment.objects.filter(pk=1).update(status="active")',
        "e.contract_end_date = date(2027, 1, 1)",
        "Enrollment.objects.create(customer=c, status=Enrollment.Status.ACTIVE)",
        "e.status = Enrollment.Status.DROPPED",
        "enrollment.service_start_date = today",
    ]
    assert all(DIRECT_WRITE.search(s) for s in samples)
    assert not DIRECT_WRITE.search("assert e.contract_end_date == end")


@pytest.mark.django_db
def test_transition_table_refuses_backwards_and_records_forwards():
    call_command("seed_demo", "--password", "x-pass-12345", stdout=StringIO())
    dana = Enrollment.objects.get(esiid="1008901023806680370100")
    assert dana.status == "active"
    for backwards in ("submitted", "pending", "accepted"):
        with pytest.raises(ApplicationError):
            enrollment_transition(enrollment=dana, to_status=backwards, source="test")
    assert TRANSITIONS["accepted"] >= {"active", "rejected"}
    assert TRANSITIONS["dropped"] == set() and TRANSITIONS["moved_out"] == set()
    assert Enrollment.objects.get(pk=dana.pk).status == "active"


def test_contract_dates_and_business_days():
    class Plan:
        month_to_month = False
        term_months = 12

    assert contract_dates(plan=Plan, start=date(2027, 1, 31)) == (
        date(2027, 1, 31),
        date(2028, 1, 31),
    )
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    Plan.month_to_month = True
    assert contract_dates(plan=Plan, start=date(2027, 3, 1)) == (date(2027, 3, 1), None)
    # Friday Dec 24 2027 (observed Christmas) and the weekend are not business days
    assert business_days_between(date(2027, 12, 22), date(2027, 12, 28)) == 3
    assert subtract_business_days(date(2027, 12, 28), 3) == date(2027, 12, 22)


@pytest.mark.django_db
def test_market_clock_travel_and_shared(settings):
    real = clock.real_today()
    with clock.travel(date(2030, 5, 6)):
        assert clock.today() == date(2030, 5, 6)
    assert clock.today() == real
    clock.shared_set(date(2031, 1, 2))
    try:
        assert clock.today() == date(2031, 1, 2)
        settings.CLOCK_OVERRIDABLE = False  # production: the shared date is never read
        assert clock.today() == real
        with pytest.raises(RuntimeError):
            clock.shared_set(None)
    finally:
        settings.CLOCK_OVERRIDABLE = True
        clock.shared_set(None)
    assert clock.today() == real


@pytest.mark.django_db
def test_stuck_enrollments_screen_lists_what_waits_too_long(client):
    call_command("seed_demo", "--password", "x-pass-12345", stdout=StringIO())
    dana = Enrollment.objects.get(esiid="1008901023806680370100")
    utility, plan = dana.service_account.utility, dana.plan
    today = clock.today()
    # accepted, its requested start 3 weeks ago, never completed: stuck
    waiting = journeys.submit(utility=utility, plan=plan, on=today - timedelta(days=40))
    journeys.acknowledge(waiting)
    journeys.answer(waiting, "accepted")
    # accepted, starting next week: fine
    fine = journeys.submit(utility=utility, plan=plan)
    journeys.acknowledge(fine)
    journeys.answer(fine, "accepted")
    # submitted yesterday... and never acknowledged two weeks ago: stuck
    lost = journeys.submit(utility=utility, plan=plan, on=today - timedelta(days=14))

    agent = User.objects.create_user(username="agent-stuck", password="x-Password-1", kind="staff")
    agent.groups.add(Group.objects.get(name="Agent"))
    client.force_login(agent)
    html = client.get("/enrollments/stuck/").content.decode()
    assert f'href="/enrollments/{waiting.pk}/"' in html
    assert f'href="/enrollments/{lost.pk}/"' in html
    assert f'href="/enrollments/{fine.pk}/"' not in html
    assert f'href="/enrollments/{dana.pk}/"' not in html
    assert "the switch or move-in has not completed" in html
    assert "has not acknowledged Create Prospect" in html
    assert 'href="/enrollments/stuck/"' in client.get("/").content.decode()  # in the menu

    customer = User.objects.create_user(username="c@example.com", password="x", kind="customer")
    client.force_login(customer)
    assert client.get("/enrollments/stuck/").status_code == 403
