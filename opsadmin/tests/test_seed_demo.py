from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from enrollments.models import Enrollment
from opsadmin.models import ServiceArea, ThirdPartyProvider, User

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"opsadmin", "enrollments", "drops", "programs"}
        # the audit trail (pghistory) records each re-run's updates: it is meant to grow
        and not m._meta.label.endswith("History")
    }


def test_seed_demo_is_idempotent_and_sets_passwords(settings):
    settings.SIMULATORS_URL = "http://127.0.0.1:8100"
    call_command("seed_demo", "--password", "first-pass-123", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", "--password", "second-pass-456", stdout=StringIO())
    assert _counts() == first
    demo = User.objects.get(username="demo@customer.example")
    assert demo.is_customer and demo.check_password("second-pass-456")
    assert User.objects.get(username="agent").groups.get().name == "Agent"
    enrollment = Enrollment.objects.get(service_account__esiid="1008901023806680370100")
    assert enrollment.service_account.utility.code == "centerpoint"
    assert enrollment.status == Enrollment.Status.ACTIVE
    provider = ThirdPartyProvider.load()
    assert provider.smt_enabled and provider.smt_api_url == "http://127.0.0.1:8100/smt"
    assert ServiceArea.objects.filter(zip_code="77494").count() == 2


def test_seed_demo_without_password_makes_random_ones():
    call_command("seed_demo", stdout=StringIO())
    agent = User.objects.get(username="agent")
    assert not agent.check_password("demo-pass-123")
    assert agent.has_usable_password()
