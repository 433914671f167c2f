"""Which language a page is in: the customer's stored preference, else the browser; the
visible switch persists it; staff screens stay English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from enrollments.models import Customer
from myaccount.tests.factories import monthly_bills, portal_customer
from opsadmin.tests.factories import staff

pytestmark = pytest.mark.django_db


def _spanish(customer: Customer) -> None:
    customer.language = "es"
    customer.save(update_fields=["language"])


def test_signup_follows_the_browser_language(client):
    html = client.get("/enrollments/signup/", HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9").content
    text = html.decode()
    assert '<html lang="es">' in text
    assert "<h1>Inscribirse</h1>" in text
    assert "Código postal" in text
    assert "Cambiar idioma" in text  # the visible switch
    english = client.get("/enrollments/signup/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="en">' in english
    assert "<h1>Sign up</h1>" in english


def test_stored_preference_wins_over_the_browser_on_my_account(client):
    portal = portal_customer(first_name="Lucia")
    _spanish(portal.customer)
    monthly_bills(portal.account, first=date(2024, 1, 1), count=2, kwh=lambda i: 500)
    client.force_login(portal.user)
    page = client.get("/myaccount/payments/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="es">' in page
    assert "<h1>Pagos</h1>" in page
    assert "Historial de facturas" in page
    assert "Cerrar sesión" in page
    # dates in Spanish order and month names, amounts with a decimal point (US Spanish)
    assert "1 ene 2024 – 31 ene 2024" in page
    bill_amounts = [b.amount for b in portal.account.bills.all()]
    assert all(isinstance(a, Decimal) for a in bill_amounts)
    assert f"${bill_amounts[0]:.2f}" in page


def test_english_customer_with_a_spanish_browser_keeps_english(client):
    portal = portal_customer(first_name="Ann")
    client.force_login(portal.user)
    page = client.get("/myaccount/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<h2 id="summary-h">Your account</h2>' in page


def test_staff_screens_stay_english_whatever_the_browser(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en">' in page
    client.force_login(staff("Agent"))
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="es")
    assert home.status_code == 200
    assert '<html lang="en">' in home.content.decode()


def test_the_switch_persists_the_customers_preference(client):
    portal = portal_customer(first_name="Rosa")
    client.force_login(portal.user)
    response = client.post("/myaccount/language/", {"language": "es", "next": "/myaccount/usage/"})
    assert response.status_code == 302
    assert response["Location"] == "/myaccount/usage/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    portal.customer.refresh_from_db()
    assert portal.customer.language == "es"
    # Another browser (no cookie) still gets Spanish: the preference is stored.
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    assert "<h1>Pagos</h1>" in client.get("/myaccount/payments/").content.decode()
    client.post("/myaccount/language/", {"language": "en", "next": "/myaccount/"})
    portal.customer.refresh_from_db()
    assert portal.customer.language == "en"


def test_the_switch_for_a_visitor_sets_the_cookie_only(client):
    response = client.post(
        "/myaccount/language/", {"language": "es", "next": "/enrollments/signup/"}
    )
    assert response["Location"] == "/enrollments/signup/"
    assert "<h1>Inscribirse</h1>" in client.get("/enrollments/signup/").content.decode()


def test_the_switch_refuses_other_languages_and_foreign_redirects(client):
    portal = portal_customer(first_name="Eva")
    client.force_login(portal.user)
    assert client.post("/myaccount/language/", {"language": "fr"}).status_code == 400
    portal.customer.refresh_from_db()
    assert portal.customer.language == "en"
    response = client.post(
        "/myaccount/language/", {"language": "es", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/myaccount/"
    assert client.get("/myaccount/language/").status_code == 405


def test_profile_offers_each_language_in_its_own_tongue(client):
    portal = portal_customer(first_name="Mara")
    _spanish(portal.customer)
    client.force_login(portal.user)
    page = client.get("/myaccount/profile/").content.decode()
    assert '<option value="es" selected>Español</option>' in page
    assert '<option value="en">English</option>' in page
    assert "Enviar mis avisos por" in page
