"""Each enrollment replacement value, rendered through notices, with exact results."""

from __future__ import annotations

import socket
import threading
from datetime import date

import pytest

from notices import registry
from notices.models import NoticeTemplate
from notices.services import notice_render
from opsadmin.models import ThirdPartyProvider
from renewals.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    """A TCP listener that counts connections: the billing API would have to call it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", hits
    stop.set()
    thread.join(2)
    server.close()


def render(text: str, record, html: bool = False) -> str:
    return registry.render(text, record_kind="enrollment", record=record, html=html)


def test_every_enrollment_value_renders_its_stored_data():
    renewal = f.plan("MTM", term_months=1, name="Month to Month")
    plan = f.plan("FIX12", term_months=12, name="Fixed 12", renewal=renewal)
    e = f.enrollment(end=date(2026, 3, 31), plan_obj=plan, ban="ESG-000123", company="Acme Ice")
    expected = {
        "BILLING_ACCOUNT_NUMBER": "ESG-000123",
        "CUSTOMER_NAME": "Acme Ice",
        "CUSTOMER_FIRST_NAME": "Ana",
        "PLAN_NAME": "Fixed 12",
        "PLAN_CODE": "FIX12",
        "RENEWAL_PLAN_NAME": "Month to Month",
        "RENEWAL_PLAN_CODE": "MTM",
        "CONTRACT_END_DATE": "March 31, 2026",
        "ESIID": e.service_account.esiid,
        "SERVICE_ADDRESS": f"{e.service_account.address_line1}, Houston, TX 77002",
        "UTILITY_NAME": "CenterPoint",
        "UTILITY_PRICE_TO_COMPARE": "11.20¢/kWh",
    }
    for name, value in expected.items():
        assert render(f"[{name}]", e) == value, name
    # Every name the issue asks for is in the one registry, with a description.
    for name in expected:
        assert registry.get(name).description


def test_price_to_compare_keeps_four_places_and_empty_when_unset():
    u = f.utility(price_to_compare_cents="9.8765")
    e = f.enrollment(end=date(2026, 1, 1), util=u)
    assert render("[UTILITY_PRICE_TO_COMPARE]", e) == "9.8765¢/kWh"
    u.price_to_compare_cents = None
    u.save()
    e.refresh_from_db()
    assert render("<[UTILITY_PRICE_TO_COMPARE]>", e) == "<>"


def test_missing_billing_account_number_renders_empty_and_calls_nothing(listener):
    url, hits = listener
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = url
    provider.save()
    e = f.enrollment(end=date(2026, 1, 1), ban="")
    template = NoticeTemplate(
        record_kind="enrollment",
        subject="Acct [BILLING_ACCOUNT_NUMBER].",
        body="<p>#[BILLING_ACCOUNT_NUMBER]#</p>",
    )
    rendered = notice_render(template=template, record=e)
    assert rendered.subject == "Acct ."
    assert rendered.html == "<p>##</p>"
    e.refresh_from_db()
    assert e.billing_account_number == ""  # nothing fetched and stored either
    assert hits == []
    # The listener does answer connections: a call would have been seen.
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=2) as s:
        s.sendall(b"probe")
    import time

    for _ in range(50):
        if hits:
            break
        time.sleep(0.02)
    assert hits == [b"probe"]


def test_values_are_html_escaped_in_email_but_not_in_subject():
    e = f.enrollment(end=date(2026, 1, 1), company="<b>O'Neil & Sons</b>")
    template = NoticeTemplate(
        record_kind="enrollment",
        subject="Hello [CUSTOMER_NAME]",
        body="<p>Dear [CUSTOMER_NAME],</p>",
    )
    rendered = notice_render(template=template, record=e)
    assert rendered.html == "<p>Dear &lt;b&gt;O&#x27;Neil &amp; Sons&lt;/b&gt;,</p>"
    assert rendered.subject == "Hello <b>O'Neil & Sons</b>"
    assert rendered.text == "Dear <b>O'Neil & Sons</b>,"  # text part: the plain value
