"""Staff and customers are different kinds of user: neither opens the other's pages."""

from __future__ import annotations

import pytest

from opsadmin.tests.factories import PASSWORD, customer_user, staff

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_the_right_login(client):
    assert client.get("/").url.startswith("/login/")
    assert client.get("/myaccount/").url.startswith("/myaccount/login/")


def test_customer_gets_403_on_staff_pages(client):
    client.force_login(customer_user())
    for url in ("/", "/configuration/", "/configuration/system-setup/"):
        assert client.get(url).status_code == 403, url


def test_staff_gets_403_on_my_account(client):
    client.force_login(staff("Agent"))
    assert client.get("/myaccount/").status_code == 403


def test_staff_login_refuses_a_customer_and_my_account_login_refuses_staff(client):
    customer = customer_user(username="pat@example.com")
    agent = staff("Agent", username="agent1")
    response = client.post("/login/", {"username": customer.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "This login is for staff" in response.content.decode()
    response = client.post("/myaccount/login/", {"username": agent.username, "password": PASSWORD})
    assert "This login is for customers" in response.content.decode()
    response = client.post("/login/", {"username": "agent1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_agent_sees_staff_shell_menus_by_permission(client):
    client.force_login(staff("Agent"))
    page = client.get("/").content.decode()
    assert "Enroll Customer" in page
    assert 'href="/configuration/"' not in page
    client.force_login(staff("Admin"))
    assert 'href="/configuration/"' in client.get("/").content.decode()
