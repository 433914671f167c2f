"""Lockout after repeated failures is keyed on user AND IP (a call center shares one IP)."""

from __future__ import annotations

import pytest

from opsadmin.tests.factories import PASSWORD, customer_user, staff

pytestmark = pytest.mark.django_db
FLOOR_IP = "203.0.113.10"
HOME_IP = "198.51.100.7"


def attempt(client, url, username, password, ip):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_one_agents_typos_lock_only_that_agent_on_that_ip(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff("Agent", username="typo")
    staff("Agent", username="neighbour")
    for _ in range(2):
        assert attempt(client, "/login/", "typo", "wrong-password", FLOOR_IP).status_code == 200
    # The third failure locks that user on that IP; the right password no longer helps.
    assert attempt(client, "/login/", "typo", "wrong-password", FLOOR_IP).status_code == 429
    locked = attempt(client, "/login/", "typo", PASSWORD, FLOOR_IP)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The rest of the floor (same IP) is not locked out.
    assert attempt(client, "/login/", "neighbour", PASSWORD, FLOOR_IP).status_code == 302
    client.logout()
    # The same agent from another IP is not locked out either.
    assert attempt(client, "/login/", "typo", PASSWORD, HOME_IP).status_code == 302


def test_customers_are_locked_out_too(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    customer_user(username="c@example.com")
    for _ in range(3):
        attempt(client, "/myaccount/login/", "c@example.com", "nope", FLOOR_IP)
    assert (
        attempt(client, "/myaccount/login/", "c@example.com", PASSWORD, FLOOR_IP).status_code == 429
    )


def test_staff_session_ends_when_idle(client, settings):
    settings.STAFF_IDLE_TIMEOUT = 60
    client.force_login(staff("Agent"))
    assert client.get("/").status_code == 200
    session = client.session
    session["last_activity"] -= 120
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert client.get("/").url.startswith("/login/")


def test_staff_activity_stamp_is_not_rewritten_on_every_request(client, settings):
    settings.STAFF_IDLE_TIMEOUT = 30 * 60
    client.force_login(staff("Agent"))
    assert client.get("/").status_code == 200
    stamped = client.session["last_activity"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "django_session"')]
    assert client.session["last_activity"] == stamped
    session = client.session
    session["last_activity"] -= 61  # a minute later the stamp moves on
    session.save()
    assert client.get("/").status_code == 200
    assert client.session["last_activity"] >= stamped
