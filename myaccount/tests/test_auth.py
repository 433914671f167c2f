"""Sign-in, lockout, password reset by email, set-password from the emailed link."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from myaccount.tests.factories import PASSWORD, portal_customer
from opsadmin.models import User

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-passphrase-42"


def login(client, username, password, ip="203.0.113.7"):
    return client.post(
        "/myaccount/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_customer_signs_in_and_lands_on_the_dashboard(client):
    portal = portal_customer()
    r = login(client, portal.user.username, PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/myaccount/"
    assert client.get("/myaccount/").status_code == 200


def test_lockout_after_five_failures_for_that_user_and_ip(client):
    portal = portal_customer()
    for _ in range(4):
        r = login(client, portal.user.username, "wrong-password")
        assert r.status_code == 200
        assert "Please enter a correct" in r.content.decode()
    assert login(client, portal.user.username, "wrong-password").status_code == 429  # 5th
    r = login(client, portal.user.username, PASSWORD)  # even the right password now
    assert r.status_code == 429
    assert "Too many failed attempts" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # The same user from another address is not locked out.
    other = login(client, portal.user.username, PASSWORD, ip="198.51.100.9")
    assert other.status_code == 302


def test_password_reset_email_links_to_set_password(client):
    portal = portal_customer()
    r = client.post("/myaccount/password-reset/", {"email": portal.user.email})
    assert r.status_code == 302 and r["Location"] == "/myaccount/password-reset/sent/"
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].to == [portal.user.email]
    link = re.search(r"http://testserver(/myaccount/set-password/[^/]+/[^/]+/)", body).group(1)
    # The confirm view swaps the token for a session marker, then shows the form.
    r = client.get(link)
    assert r.status_code == 302
    form_url = r["Location"]
    assert form_url.endswith("/set-password/")
    r = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/myaccount/login/"
    portal.user.refresh_from_db()
    assert portal.user.check_password(NEW_PASSWORD)
    # The link works once.
    assert "no longer valid" in client.get(link, follow=True).content.decode()


def test_reset_for_a_staff_email_sends_nothing(client):
    User.objects.create_user(
        username="agent1", email="agent1@example.com", password=PASSWORD, kind=User.Kind.STAFF
    )
    r = client.post("/myaccount/password-reset/", {"email": "agent1@example.com"})
    assert r.status_code == 302
    assert mail.outbox == []


def test_agent_enrolled_customer_sets_a_first_password_from_the_link(client):
    """The enrollment flow emails reverse('myaccount:set_password', uidb64, token)."""
    portal = portal_customer()
    portal.user.set_unusable_password()
    portal.user.save()
    uid = urlsafe_base64_encode(force_bytes(portal.user.pk))
    token = default_token_generator.make_token(portal.user)
    r = client.get(f"/myaccount/set-password/{uid}/{token}/", follow=True)
    assert "Set your password" in r.content.decode()
    r = client.post(
        r.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert r.status_code == 302
    assert login(client, portal.user.username, NEW_PASSWORD).status_code == 302


def test_set_password_lifts_a_lockout(client):
    portal = portal_customer()
    for _ in range(5):
        login(client, portal.user.username, "wrong-password")
    assert login(client, portal.user.username, PASSWORD).status_code == 429
    uid = urlsafe_base64_encode(force_bytes(portal.user.pk))
    token = default_token_generator.make_token(portal.user)
    r = client.get(f"/myaccount/set-password/{uid}/{token}/", follow=True)
    client.post(
        r.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert login(client, portal.user.username, NEW_PASSWORD).status_code == 302


def test_set_password_link_for_staff_is_invalid(client):
    staff = User.objects.create_user(
        username="agent2", email="agent2@example.com", password=PASSWORD, kind=User.Kind.STAFF
    )
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    token = default_token_generator.make_token(staff)
    r = client.get(f"/myaccount/set-password/{uid}/{token}/", follow=True)
    assert "no longer valid" in r.content.decode()


def test_staff_cannot_open_my_account_pages(client):
    staff = User.objects.create_user(username="agent3", password=PASSWORD, kind=User.Kind.STAFF)
    client.force_login(staff)
    for url in ("/myaccount/", "/myaccount/usage/", "/myaccount/payments/", "/myaccount/profile/"):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_the_my_account_login(client):
    r = client.get("/myaccount/usage/")
    assert r.status_code == 302
    assert r["Location"] == "/myaccount/login/?next=/myaccount/usage/"
