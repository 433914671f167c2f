"""The ops usage-sync screen: who may see it, what it shows, pulling now."""

from __future__ import annotations

from datetime import date

import pytest

from opsadmin.tests.factories import PASSWORD, customer_user, staff
from usage.models import UsageSyncState
from usage.tests.factories import premise

pytestmark = pytest.mark.django_db


@pytest.fixture
def states():
    ok = premise(esiid="1008901000000000000001")
    bad = premise(esiid="10089010000000001")
    UsageSyncState.objects.create(service_account=ok, data_through=date(2026, 11, 23))
    UsageSyncState.objects.create(
        service_account=bad,
        consecutive_failures=3,
        last_error="TransientIntegrationError: SMT answered 503",
    )
    return ok, bad


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_ops_sees_failing_first_and_can_pull(client, states):
    login(client, staff("Ops"))
    response = client.get("/usage/sync/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("10089010000000001") < html.index("1008901000000000000001")
    assert "SMT answered 503" in html and "2026-11-23" in html  # the one staff date format
    assert "Pull now" in html
    response = client.post(f"/usage/sync/{states[1].pk}/pull/", follow=True)
    assert "SMT pull queued for ESIID 10089010000000001." in response.content.decode()


def test_search_and_htmx_partial(client, states):
    login(client, staff("Ops"))
    response = client.get("/usage/sync/?q=10089010000000001", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<h1>" not in html and 'id="sync-rows"' in html
    assert "10089010000000001" in html and "1008901000000000000001" not in html


def test_agent_views_but_cannot_pull(client, states):
    login(client, staff("Agent"))
    response = client.get("/usage/sync/")
    assert response.status_code == 200 and "Pull now" not in response.content.decode()
    assert client.post(f"/usage/sync/{states[0].pk}/pull/").status_code == 403


def test_customers_and_anonymous_are_kept_out(client, states):
    assert client.get("/usage/sync/").status_code == 302
    login(client, customer_user())
    assert client.get("/usage/sync/").status_code == 403
