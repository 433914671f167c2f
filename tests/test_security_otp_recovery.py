"""Two-factor recovery codes (shown once at setup, hashed at rest, each usable once at
login) and the Admin reset of another user's two-factor (permission, confirmation, audit)."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsadmin import otp
from opsadmin.models import RecoveryCode, RecoveryCodeDevice, TwoFactorReset
from opsadmin.tests.factories import staff
from tests.test_security_otp import code, password_login

pytestmark = [pytest.mark.django_db, pytest.mark.otp]
CODE_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


@pytest.fixture(autouse=True)
def no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # throttling has its own tests
    settings.OTP_RECOVERY_THROTTLE_FACTOR = 0


def enroll(client, user) -> tuple[TOTPDevice, list[str]]:
    """Password, then set up the authenticator; returns the device and the codes shown."""
    password_login(client, user.username)
    client.get("/otp/setup/")
    device = TOTPDevice.objects.get(user=user)
    page = client.post("/otp/setup/", {"token": code(device), "next": "/"})
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    return device, CODE_RE.findall(page.content.decode())


def test_setup_shows_ten_codes_once_and_keeps_only_digests(client):
    user = staff("Ops", username="ops-codes")
    _, codes = enroll(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(device__user=user).values_list("digest", flat=True))
    assert len(stored) == 10
    # only digests at rest: no code, with or without dashes, in any column of any row
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.salt, d.name, c.digest FROM opsadmin_recoverycodedevice d "
            "JOIN opsadmin_recoverycode c ON c.device_id = d.id"
        )
        dump = " ".join(" ".join(row) for row in cursor.fetchall())
    for c in codes:
        assert c not in dump and c.replace("-", "") not in dump
    # the verified session goes on; the codes are never shown again
    assert client.get("/").status_code == 200
    home = client.get("/").content.decode()
    assert '<a href="/otp/recovery-codes/">Recovery codes</a>' in home
    status = client.get("/otp/recovery-codes/").content.decode()
    assert "You have 10 unused recovery codes" in status
    assert not CODE_RE.search(status)
    assert client.get("/otp/setup/").status_code == 302  # enrolled: no second setup


def test_each_code_signs_in_once_instead_of_the_authenticator(client):
    user = staff("Admin", username="admin-codes")
    _, codes = enroll(client, user)
    client.post("/logout/")

    password_login(client, user.username)
    assert client.get("/").url == "/otp/verify/?next=/"
    wrong = client.post("/otp/verify/", {"recovery_code": "aaaa-bbbb-cccc", "next": "/"})
    assert wrong.status_code == 422
    assert "not valid or was used already" in wrong.content.decode()
    assert client.get("/").status_code == 302
    # typed in capitals without dashes: still the code
    ok = client.post(
        "/otp/verify/", {"recovery_code": codes[3].upper().replace("-", " "), "next": "/"}
    )
    assert ok.status_code == 302 and ok.url == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "You signed in with a recovery code; 9 left." in home.content.decode()
    client.post("/logout/")

    password_login(client, user.username)
    again = client.post("/otp/verify/", {"recovery_code": codes[3], "next": "/"})
    assert again.status_code == 422  # spent
    assert client.get("/").status_code == 302
    assert client.post("/otp/verify/", {"recovery_code": codes[4], "next": "/"}).url == "/"
    assert RecoveryCode.objects.filter(device__user=user, used_at__isnull=False).count() == 2


def test_a_code_is_spent_once_even_by_two_logins_at_the_same_moment(transactional_db):
    user = staff("Ops", username="ops-race")
    codes = otp.recovery_codes_issue(user=user)
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def attempt():
        from django.db import connection as conn

        device = RecoveryCodeDevice.objects.get(user=user)
        barrier.wait()
        results.append(device.verify_token(codes[0]))
        conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]


def test_wrong_recovery_codes_are_throttled(client, settings):
    settings.OTP_RECOVERY_THROTTLE_FACTOR = 60
    user = staff("Ops", username="ops-throttle")
    codes = otp.recovery_codes_issue(user=user)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    password_login(client, user.username)
    assert client.post("/otp/verify/", {"recovery_code": "zzzz-zzzz-zzzz"}).status_code == 422
    # right code, but within the back-off: refused and not spent
    assert client.post("/otp/verify/", {"recovery_code": codes[0]}).status_code == 422
    assert RecoveryCodeDevice.objects.get(user=user).remaining == 10
    assert client.get("/").status_code == 302


def test_new_codes_replace_the_old_ones_only_from_a_verified_session(client):
    user = staff("Ops", username="ops-reissue")
    _, old = enroll(client, user)
    page = client.post("/otp/recovery-codes/")
    new = CODE_RE.findall(page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert page["Cache-Control"] == "no-store"
    assert RecoveryCodeDevice.objects.filter(user=user).count() == 1
    client.post("/logout/")
    # password only: the page is under /otp/ but does not issue codes before verification
    password_login(client, user.username)
    response = client.post("/otp/recovery-codes/")
    assert response.status_code == 302 and response.url.startswith("/otp/verify/")
    assert RecoveryCodeDevice.objects.get(user=user).remaining == 10
    assert client.post("/otp/verify/", {"recovery_code": old[0]}).status_code == 422
    assert client.post("/otp/verify/", {"recovery_code": new[0], "next": "/"}).url == "/"


def admin_client(client, username="admin-reset"):
    admin = staff("Admin", username=username)
    enroll(client, admin)
    return admin


def test_admin_resets_another_users_two_factor_after_confirming(client):
    ops = staff("Ops", username="ops-lost-phone")
    ops_client = Client()
    enroll(ops_client, ops)  # signed in and verified elsewhere
    assert ops_client.get("/").status_code == 200
    admin = admin_client(client)

    listing = client.get("/configuration/two-factor/").content.decode()
    assert f'href="/configuration/two-factor/{ops.pk}/reset/"' in listing
    assert f'href="/configuration/two-factor/{admin.pk}/reset/"' not in listing  # not self
    home = client.get("/").content.decode()
    assert '<a href="/configuration/two-factor/">Two-factor</a>' in home

    url = f"/configuration/two-factor/{ops.pk}/reset/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Reset two-factor of ops-lost-phone?" in body and "10 unused recovery codes" in body
    assert TOTPDevice.objects.filter(user=ops).exists()  # a GET changes nothing

    # the confirmation box and a reason are required
    refused = client.post(url, {"reason": "lost phone"})
    assert refused.status_code == 422
    assert TOTPDevice.objects.filter(user=ops).exists() and not TwoFactorReset.objects.exists()

    done = client.post(url, {"reason": "Lost phone; called back on file number", "confirm": "on"})
    assert done.status_code == 302 and done.url == "/configuration/two-factor/"
    assert not TOTPDevice.objects.filter(user=ops).exists()
    assert not RecoveryCodeDevice.objects.filter(user=ops).exists()
    record = TwoFactorReset.objects.get()
    assert (record.user, record.username, record.actor, record.actor_username) == (
        ops,
        "ops-lost-phone",
        admin,
        "admin-reset",
    )
    assert record.reason == "Lost phone; called back on file number"
    assert record.devices_removed == 2 and record.ip == "127.0.0.1"
    # the session verified with the removed authenticator must set up a new one
    assert ops_client.get("/").url == "/otp/setup/?next=/"
    after = client.get("/configuration/two-factor/").content.decode()
    assert "Lost phone; called back on file number" in after

    # the user's next login sets up a new authenticator
    client.post("/logout/")
    password_login(client, ops.username)
    assert client.get("/").url == "/otp/setup/?next=/"


def test_reset_is_refused_without_permission_for_self_and_for_customers(client):
    target = staff("Agent", username="agent-target")
    TOTPDevice.objects.create(user=target, name="phone", confirmed=True)
    ops = staff("Ops", username="ops-no-perm")
    enroll(client, ops)
    url = f"/configuration/two-factor/{target.pk}/reset/"
    assert client.get("/configuration/two-factor/").status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x", "confirm": "on"}).status_code == 403
    assert TOTPDevice.objects.filter(user=target).exists()
    assert '<a href="/configuration/two-factor/">' not in client.get("/").content.decode()
    client.post("/logout/")

    admin = admin_client(client, "admin-self")
    own = client.post(
        f"/configuration/two-factor/{admin.pk}/reset/", {"reason": "x", "confirm": "on"}
    )
    assert own.status_code == 422
    assert "ask another Admin" in own.content.decode()
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert not TwoFactorReset.objects.exists()


def test_reset_pages_need_a_verified_session(client):
    """/configuration/two-factor/ is outside /otp/: the 2FA middleware guards it."""
    admin = staff("Admin", username="admin-unverified")
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    target = staff("Agent", username="agent-x")
    TOTPDevice.objects.create(user=target, name="phone", confirmed=True)
    password_login(client, admin.username)
    response = client.post(
        f"/configuration/two-factor/{target.pk}/reset/", {"reason": "x", "confirm": "on"}
    )
    assert response.status_code == 302 and response.url.startswith("/otp/verify/")
    assert TOTPDevice.objects.filter(user=target).exists()


def test_service_refuses_superuser_reset_by_a_non_superuser(db):
    admin = staff("Admin", username="admin-plain")
    root = staff("Admin", username="root", is_superuser=True)
    with pytest.raises(otp.TwoFactorResetRefused, match="superuser"):
        otp.two_factor_reset(user=root, actor=admin, reason="x")
    with pytest.raises(otp.TwoFactorResetRefused, match="permission"):
        otp.two_factor_reset(user=admin, actor=staff("Ops", username="ops-y"), reason="x")
    assert not TwoFactorReset.objects.exists()
