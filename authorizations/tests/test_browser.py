"""The shopper's flow in Chromium: explanation and four fields -> status page -> (approval at
the SMT simulator, real worker) -> usage and plan prices appear by htmx polling; axe clean."""

from __future__ import annotations

import httpx
import pytest

from authorizations.tests.factories import ESIID, reference, smt_on
from conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_shopper_authorizes_and_sees_plans_priced_on_own_usage(page, celery_worker, simulators_url):
    reference()
    smt_on(f"{simulators_url}/smt")
    httpx.post(
        f"{simulators_url}/smt/_sim/agreements/config", json={"approve_after_s": 1.0}
    ).raise_for_status()
    page.goto("/usage-authorization/start/")
    assert axe_violations(page) == []
    page.get_by_label("ESIID").fill(ESIID)
    page.get_by_label("Meter number").fill("M123456")
    page.get_by_role("textbox", name="Email").fill("shopper@example.com")
    page.get_by_label("I agree to share my electricity usage").check()
    page.get_by_role("button", name="Send the request to Smart Meter Texas").click()
    page.wait_for_url("**/usage-authorization/s/*/")
    # htmx polls the panel every 2 s; the table arrives after approval
    page.locator("#plan-costs").wait_for(timeout=30_000)
    assert page.locator("#auth-panel").get_attribute("data-status") == "approved"
    assert page.get_by_text("Smart Meter Texas (data-sharing agreement)").first.is_visible()
    assert page.locator("#plan-costs tbody tr").count() == 3
    assert axe_violations(page) == []
