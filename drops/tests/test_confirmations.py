"""Issue #23: irreversible staff actions ask first. Without JavaScript a POST without
``confirmed=yes`` answers with a confirmation page and changes nothing; with htmx the
question replaces the main region; the confirmed POST acts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from drops.models import DropRequest
from drops.services import drop_request_create
from drops.tests import factories as f
from drops.tests.test_views import staff_user
from partners.models import PartnerApiKey

pytestmark = pytest.mark.django_db


def _held_drop():
    util = f.utility()
    f.hold(util, 24)
    e = f.active_enrollment(util=util)
    return drop_request_create(
        customer=e.customer,
        enrollment=e,
        kind="drop",
        requested_date=timezone.localdate() + timedelta(days=10),
    ).drop_request


@pytest.mark.parametrize(
    ("action", "label", "status"),
    [("release", "Release request", "released"), ("cancel", "Cancel request", "cancelled")],
)
def test_release_and_cancel_ask_before_acting(client, action, label, status):
    d = _held_drop()
    client.force_login(staff_user("Ops"))
    queue = client.get("/drops/").content.decode()
    assert f'data-confirm="{label.split()[0]} drop request {d.pk} for {d.customer}?"' in queue
    # No JavaScript: the first POST is answered with a page that asks.
    page = client.post(f"/drops/{d.pk}/{action}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        f'<h1 id="confirm-heading">{label.split()[0]} drop request {d.pk} for {d.customer}?</h1>'
        in html
    )
    assert f'<form method="post" action="/drops/{d.pk}/{action}/"' in html
    assert '<input type="hidden" name="confirmed" value="yes">' in html
    assert f'<button type="submit" class="primary danger-fill">{label}</button>' in html
    assert '<a class="button" href="/drops/">No, go back</a>' in html
    d.refresh_from_db()
    assert d.status == DropRequest.Status.HELD
    # htmx without the flag: the question goes into the main region, nothing changes.
    partial = client.post(f"/drops/{d.pk}/{action}/", HTTP_HX_REQUEST="true")
    assert partial.headers["HX-Retarget"] == "#main"
    assert "<h1" in partial.content.decode() and "<nav" not in partial.content.decode()
    d.refresh_from_db()
    assert d.status == DropRequest.Status.HELD
    # Confirmed: it acts.
    done = client.post(f"/drops/{d.pk}/{action}/", {"confirmed": "yes"})
    assert done.status_code == 302
    d.refresh_from_db()
    assert d.status == status


def test_revoke_key_asks_before_acting(client):
    client.force_login(staff_user("Ops"))
    client.post("/partners/keys/", {"partner": "Zeta", "label": ""})
    key = PartnerApiKey.objects.get()
    page = client.post(f"/partners/keys/{key.pk}/revoke/")
    assert page.status_code == 200
    assert f"Revoke key {key.prefix}… of Zeta?" in page.content.decode()
    key.refresh_from_db()
    assert key.is_active
    assert client.post(f"/partners/keys/{key.pk}/revoke/", {"confirmed": "yes"}).status_code == 302
    key.refresh_from_db()
    assert not key.is_active
