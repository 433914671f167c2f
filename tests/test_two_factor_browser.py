"""Chromium: an Admin sets up two-step verification (recovery codes shown once), resets an
Ops user's two-factor through the confirmation step, and that user signs in with a recovery
code before the reset and must set up again after it; axe clean on every 2FA screen."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import axe_violations
from enrollments.tests.factories import make_staff
from opsadmin import otp
from opsadmin.models import TwoFactorReset
from tests.test_security_otp import code

pytestmark = [pytest.mark.browser, pytest.mark.otp, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-Agent-12345"  # noqa: S105 - test login


def login(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_admin_sets_up_then_resets_another_users_two_factor(page, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    page.set_default_timeout(20_000)
    make_staff("admin", "Admin")
    ops = make_staff("opsuser", "Ops")
    ops_codes = otp.recovery_codes_issue(user=ops)
    TOTPDevice.objects.create(user=ops, name="phone", confirmed=True)

    # The Ops user lost the phone: a recovery code gets them in, once.
    login(page, "opsuser")
    page.get_by_role("heading", name="Two-step verification").wait_for()
    assert axe_violations(page) == []
    page.get_by_text("Lost your phone? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(ops_codes[0].upper())
    page.get_by_role("button", name="Sign in with a recovery code").click()
    page.get_by_text("You signed in with a recovery code; 9 left.").wait_for()
    page.get_by_role("button", name="Log out").click()

    # The Admin's first login: set up the authenticator; the codes are shown once.
    login(page, "admin")
    page.get_by_role("heading", name="Set up two-step verification").wait_for()
    assert axe_violations(page) == []
    device = TOTPDevice.objects.get(user__username="admin")
    page.get_by_label("6-digit code from your authenticator app").fill(code(device))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    shown = page.locator("#recovery-codes li").all_inner_texts()
    assert len(shown) == 10 and all(re.fullmatch(r"[a-z2-9-]{14}", c) for c in shown)
    assert axe_violations(page) == []
    page.get_by_role("link", name="I saved my codes, continue").click()
    page.wait_for_url("**/")

    # Configuration > Two-factor, then the confirmation step.
    page.get_by_text("Configuration", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Two-factor").click()
    page.wait_for_url("**/configuration/two-factor/")
    assert axe_violations(page) == []
    row = page.locator("#two-factor-users tr", has_text="opsuser")
    assert row.locator("td").nth(4).inner_text() == "9"
    row.get_by_role("link", name=re.compile("Reset two-factor")).click()
    page.get_by_role("heading", name="Reset two-factor of opsuser?").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Reset two-factor").click()  # nothing ticked: refused
    page.get_by_text("This field is required.").first.wait_for()
    assert TOTPDevice.objects.filter(user=ops).exists()
    page.get_by_label("Why (kept in the audit record)").fill("Lost phone, manager confirmed")
    page.get_by_label(re.compile("I checked who is asking")).check()
    page.get_by_role("button", name="Reset two-factor").click()
    page.wait_for_url("**/configuration/two-factor/")
    page.get_by_text("Two-factor reset for opsuser").wait_for()
    resets = page.locator("#two-factor-resets tbody tr")
    assert "Lost phone, manager confirmed" in resets.first.inner_text()
    assert not TOTPDevice.objects.filter(user=ops).exists()
    assert TwoFactorReset.objects.get().actor.username == "admin"
    page.get_by_role("button", name="Log out").click()

    # The Ops user's next login sets up a new authenticator; the old codes are gone.
    login(page, "opsuser")
    page.get_by_role("heading", name="Set up two-step verification").wait_for()
