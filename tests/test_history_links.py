"""Issue #23: every audited object links to its History (for who may read it: Admin), and
the History names fields by their labels, not their columns."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from drops.models import DropRequest
from enrollments.models import Enrollment, Plan
from opsadmin.models import CustomerType, User, Utility
from partners.models import Partner, PartnerApiKey

PASSWORD = "history-Password-1"  # noqa: S105 - test login


@pytest.fixture
def demo(db):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _history_href(obj) -> str:
    meta = obj._meta
    return f'href="/configuration/history/{meta.app_label}/{meta.model_name}/{obj.pk}/"'


@pytest.mark.django_db
def test_admin_screens_link_every_audited_object_to_its_history(demo):
    utility = Utility.objects.order_by("pk").first()
    ctype = CustomerType.objects.order_by("pk").first()
    plan = Plan.objects.order_by("pk").first()
    enrollment = Enrollment.objects.order_by("pk").first()
    key = PartnerApiKey.objects.create(
        partner=Partner.objects.create(name="Acme TPV", code="acme-h"),
        prefix="ak_hist",
        key_hash="1" * 64,
    )
    screens = {
        f"/configuration/utilities/{utility.pk}/": utility,
        f"/configuration/customer-types/{ctype.pk}/": ctype,
        f"/enrollments/catalogue/plans/{plan.pk}/": plan,
        f"/enrollments/{enrollment.pk}/": enrollment,
        "/partners/keys/": key,
    }
    admin = _client("admin")
    for url, obj in screens.items():
        response = admin.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert _history_href(obj) in html, url
        # and the link opens
        href = _history_href(obj)[6:-1]
        assert admin.get(href).status_code == 200, href
    for url in ("/configuration/system-setup/", "/configuration/third-party-providers/"):
        html = admin.get(url).content.decode()
        assert re.search(r'class="history-link" href="/configuration/history/opsadmin/', html), url
    # Ops opens the same screens (where it may) without a History link (it would be a 403).
    ops = _client("ops")
    for url in (f"/enrollments/{enrollment.pk}/", "/configuration/utilities/", "/drops/"):
        response = ops.get(url)
        assert response.status_code == 200, url
        assert "/configuration/history/" not in response.content.decode(), url


@pytest.mark.django_db
def test_history_shows_field_labels_and_choice_labels(demo):
    utility = Utility.objects.order_by("pk").first()
    admin = _client("admin")
    post = admin.get(f"/configuration/utilities/{utility.pk}/")
    assert post.status_code == 200
    utility.meter_number_label = "Meter #"
    utility.save()
    html = admin.get(f"/configuration/history/opsadmin/utility/{utility.pk}/").content.decode()
    label = Utility._meta.get_field("meter_number_label").verbose_name
    assert f"<strong>{label[0].upper()}{label[1:]}</strong>: <del>" in html
    assert "<strong>meter_number_label</strong>" not in html
    assert "esiid_prefixes" not in html
    assert DropRequest._meta.get_field("status").verbose_name  # a labelled model field
