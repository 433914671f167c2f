"""Staff two-factor (TOTP): Ops and Admin verify a code (or enroll) before any staff page."""

from __future__ import annotations

import re
import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsadmin.tests.factories import PASSWORD, customer_user, staff
from tests.test_access_walk import all_urls, is_myaccount, is_public

pytestmark = [pytest.mark.django_db, pytest.mark.otp]


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def password_login(client, username: str) -> None:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]


def test_default_setting_requires_ops_and_admin():
    from opsadmin import settings as module

    assert module.OTP_REQUIRED_GROUPS == ["Ops", "Admin"]


@pytest.mark.parametrize("group", ["Ops", "Admin"])
def test_first_login_enrolls_then_later_logins_verify(client, settings, group):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # throttling has its own test below
    user = staff(group, username=f"{group.lower()}-2fa")
    password_login(client, user.username)

    # Password alone opens no staff page: first login goes to enrollment.
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/otp/setup/?next=/"

    page = client.get(response.url)
    assert page.status_code == 200
    body = page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    secret = re.search(r'<code id="otp-secret">([A-Z2-7=]+)</code>', body).group(1)
    assert secret == __import__("base64").b32encode(device.bin_key).decode()
    assert f"otpauth://totp/OpsAdmin%3A{user.username}?secret={secret}" in body
    assert 'src="data:image/svg+xml;base64,' in body  # QR drawn on the server
    assert "https://" not in body.split("<main", 1)[1]  # no third-party QR service

    wrong = client.post("/otp/setup/", {"token": "000000", "next": "/"})
    assert wrong.status_code == 422
    assert client.get("/").status_code == 302
    device.refresh_from_db()
    assert device.confirmed is False

    ok = client.post("/otp/setup/", {"token": code(device), "next": "/"})
    # verified; the recovery codes are shown once, then the person continues to ``next``
    assert ok.status_code == 200 and "Your recovery codes" in ok.content.decode()
    assert '<a class="button primary" href="/">I saved my codes, continue</a>' in (
        ok.content.decode()
    )
    assert client.get("/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed is True

    # Next login: the password again, then a code from the enrolled device.
    client.post("/logout/")
    password_login(client, user.username)
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/otp/verify/?next=/"
    assert client.get("/otp/setup/").url.startswith("/otp/verify/")  # no second enrollment
    replay = client.post("/otp/verify/", {"token": code(device), "next": "/"})
    assert replay.status_code == 422  # a code already used is refused
    assert client.get("/").status_code == 302
    ok = client.post("/otp/verify/", {"token": code(device, steps_ahead=1), "next": "/"})
    assert ok.status_code == 302 and ok.url == "/"
    assert client.get("/").status_code == 200
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_agents_are_optional_by_setting(client, settings):
    agent = staff("Agent", username="agent-2fa")
    password_login(client, agent.username)
    assert client.get("/").status_code == 200
    settings.OTP_REQUIRED_GROUPS = ["Ops", "Admin", "Agent"]
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/otp/setup/?next=/"


def test_customers_are_not_asked(client):
    customer = customer_user(username="cust-2fa@example.com")
    client.force_login(customer)
    response = client.get("/myaccount/")
    assert not response.get("Location", "").startswith("/otp/")


def test_every_staff_url_is_closed_until_verified(client):
    """Walk every staff URL of the resolver as an Ops user who has only the password."""
    client.force_login(staff("Ops", username="ops-walk"))
    urls = [
        u
        for u in all_urls()
        if not is_public(u) and not is_myaccount(u) and not u.startswith("/otp/")
    ]
    open_urls = []
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            if not (response.status_code == 302 and response.url.startswith("/otp/setup/")):
                open_urls.append(f"{method.__name__} {url}: {response.status_code}")
    assert open_urls == []
    assert len(urls) > 20


def test_htmx_requests_are_sent_to_verify_by_hx_redirect(client):
    client.force_login(staff("Admin", username="admin-htmx"))
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/otp/setup/?next=/"


def test_next_cannot_leave_the_site(client):
    user = staff("Ops", username="ops-next")
    password_login(client, user.username)
    client.get("/otp/setup/")
    device = TOTPDevice.objects.get(user=user)
    response = client.post("/otp/setup/", {"token": code(device), "next": "https://evil.example/"})
    assert response.status_code == 200  # the recovery codes, then "continue" to next
    body = response.content.decode()
    assert '<a class="button primary" href="/">I saved my codes, continue</a>' in body
    assert "evil.example" not in body


def test_wrong_codes_throttle_the_device(client):
    """After a wrong code even the right one is refused for a while (brute-force brake)."""
    user = staff("Admin", username="admin-throttle")
    password_login(client, user.username)
    client.get("/otp/setup/")
    device = TOTPDevice.objects.get(user=user)
    assert client.post("/otp/setup/", {"token": "123456"}).status_code == 422
    assert client.post("/otp/setup/", {"token": code(device)}).status_code == 422
    device.refresh_from_db()
    assert device.confirmed is False
    assert device.throttling_failure_count == 1  # refused while throttled, not counted
    assert client.get("/").status_code == 302


def test_deploy_check_warns_when_ops_or_admin_lose_two_factor(settings):
    from opsadmin.security import otp_required_groups_check

    settings.OTP_REQUIRED_GROUPS = ["Ops", "Admin"]
    assert otp_required_groups_check() == []
    settings.OTP_REQUIRED_GROUPS = ["Ops"]
    (warning,) = otp_required_groups_check()
    assert warning.id == "opsadmin.W001" and "Admin" in warning.msg
