"""Chromium with a Spanish browser: a Spanish-preferring customer signs up, then uses
My Account (dashboard, usage, payments, Cancel / Move Out) and receives every email in
Spanish; axe finds no serious or critical violation on any page (PUCT Subst. R. 25.473)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from conftest import axe_violations
from drops.models import DropRequest
from drops.services import drop_confirmation_email_send
from enrollments.models import Enrollment
from enrollments.services import set_password_email_send
from enrollments.tests.factories import make_catalogue
from opsadmin import clock
from opsadmin.management import journeys
from usage.models import Bill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Corn-Flakes-42!"  # noqa: S105 - test login


@pytest.fixture
def es_page(request, browser, live_server):
    """A browser that asks for Spanish (Accept-Language: es-US)."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="es-US"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n--- page at failure: {page.url}\n{page.locator('body').inner_text()[:3000]}")
    context.close()


def _spanish_and_accessible(page) -> None:
    assert page.locator("html").get_attribute("lang") == "es"
    assert axe_violations(page) == []


def test_spanish_customer_signs_up_uses_my_account_and_gets_spanish_email(es_page, live_server):
    page = es_page
    make_catalogue()

    # --- Signup Wizard, in Spanish because the browser asks for it -------------------------
    page.goto("/enrollments/signup/")
    page.get_by_role("heading", name="Inscribirse").wait_for()
    _spanish_and_accessible(page)
    page.get_by_label("Código postal").fill("77002")
    page.get_by_role("button", name="Buscar").click()
    page.get_by_role(
        "heading", name="Empresa de distribución, referencia y consentimiento"
    ).wait_for()
    page.get_by_role("button", name="Ver planes").click()
    page.locator("table.products").wait_for()
    assert page.get_by_role("columnheader", name="Precio prom. a").count() >= 1
    page.get_by_role("button", name="Inscribirse en Saver 12").click()
    page.get_by_role("heading", name="Cliente y domicilio").wait_for()
    # Browsing in Spanish: Spanish documents are proposed (each language in its own tongue).
    assert page.locator("#id_language").input_value() == "es"
    for field, label, value in (
        ("first_name", "Nombre *", "Kim"),
        ("last_name", "Apellido *", "Nguyen"),
        ("email", "Correo electrónico *", "kim@example.com"),
        ("phone", "Teléfono *", "2145550199"),
        ("esiid", "ESIID *", "1008901000000000000009"),
        ("address_line1", "Dirección de servicio *", "9 Oak St"),
        ("city", "Ciudad *", "Houston"),
        ("password1", "Elija una contraseña *", PASSWORD),
        ("password2", "Repita la contraseña *", PASSWORD),
    ):
        assert page.locator(f"label[for=id_{field}]").inner_text() == label
        page.locator(f"#id_{field}").fill(value)
    page.get_by_label("En lugar del Seguro Social y la fecha de nacimiento").select_option(
        "deposit"
    )
    _spanish_and_accessible(page)
    page.get_by_role("button", name="Continuar").click()
    page.get_by_role("heading", name="Confirmación y envío").wait_for()
    for box in page.get_by_role("checkbox").all():
        box.check()
    assert page.get_by_text("Acepto los Términos de Servicio").count() == 1
    _spanish_and_accessible(page)
    page.get_by_role("button", name="Enviar inscripción").click()
    page.get_by_role("heading", name="Inscripción enviada").wait_for()
    _spanish_and_accessible(page)
    enrollment = Enrollment.objects.select_related("customer__user").get()
    customer = enrollment.customer
    assert customer.language == "es"

    # The billing system accepts the enrollment, service starts, bills arrive (the product's
    # own flows, as the outbox and the status poll record them).
    journeys.acknowledge(enrollment)
    journeys.answer(enrollment, "accepted", ban="BA-4242")
    journeys.answer(enrollment, "active", ban="BA-4242", service_start=clock.today())
    assert Enrollment.objects.get(pk=enrollment.pk).status == Enrollment.Status.ACTIVE
    first = date.today().replace(day=1)
    for months_back in (1, 2):
        end = first - timedelta(days=1 + 31 * (months_back - 1))
        Bill.objects.create(
            service_account=enrollment.service_account,
            period_start=end.replace(day=1),
            period_end=end,
            kwh=Decimal("1234.5"),
            amount=Decimal("1520.25"),
            due_date=end + timedelta(days=20),
            paid=months_back > 1,
        )

    # --- My Account: the stored preference, whatever the page -----------------------------
    page.goto("/myaccount/login/")
    page.get_by_role("heading", name="Inicie sesión en Mi Cuenta").wait_for()
    _spanish_and_accessible(page)
    page.get_by_label("Correo electrónico").fill("kim@example.com")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("heading", name="Hola, Kim").wait_for()
    assert page.get_by_text("BA-4242").count() >= 1
    assert page.get_by_role("heading", name="Consumo, últimos 12 meses").count() == 1
    _spanish_and_accessible(page)

    page.goto("/myaccount/usage/")
    page.get_by_role("heading", name="Su consumo").wait_for()
    page.wait_for_selector("[data-plotly][data-drawn=true]")
    assert page.get_by_text("Fuente: sistema de facturación.").count() == 1
    _spanish_and_accessible(page)

    page.goto("/myaccount/payments/")
    page.get_by_role("heading", name="Pagos", exact=True).wait_for()
    # US Spanish numbers (decimal point, as on the bill) and Spanish dates.
    assert page.get_by_text("$1520.25").count() >= 2
    assert page.get_by_text("Pagada").count() == 1
    _spanish_and_accessible(page)

    # --- Cancel / Move Out ----------------------------------------------------------------
    page.get_by_text("Administrar").click()
    page.get_by_role("link", name="Cancelar / Mudarse").click()
    page.get_by_role("heading", name="Cancelar o mudarse").wait_for()
    _spanish_and_accessible(page)
    page.get_by_role("link", name="Cancelar el servicio en 9 Oak St").click()
    page.get_by_role("heading", name="¿Desea continuar?").wait_for()
    _spanish_and_accessible(page)
    page.get_by_role("link", name="Sí, continuar").click()
    page.get_by_label("Fecha para terminar el servicio").wait_for()
    _spanish_and_accessible(page)
    page.get_by_label("Fecha para terminar el servicio").fill(
        (date.today() + timedelta(days=10)).isoformat()
    )
    page.get_by_role("button", name="Enviar solicitud").click()
    page.get_by_role("heading", name="Recibimos su solicitud").wait_for()
    _spanish_and_accessible(page)
    drop = DropRequest.objects.get()

    # --- every email in Spanish -----------------------------------------------------------
    mail.outbox.clear()
    set_password_email_send(user=customer.user, base_url=live_server.url)  # agent channel
    drop_confirmation_email_send(drop_request_id=drop.pk)  # the Celery task's service
    page.goto("/myaccount/password-reset/")
    page.get_by_role("heading", name="Restablecer su contraseña").wait_for()
    page.get_by_label("Correo electrónico").fill("kim@example.com")
    page.get_by_role("button", name="Enviar el enlace").click()
    page.get_by_role("heading", name="Revise su correo").wait_for()
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "Elija su contraseña de Mi Cuenta",
        "Su acceso a Mi Cuenta",
        "Su solicitud de cancelación",
    ]
    bodies = " ".join(m.body for m in mail.outbox)
    assert "¡Bienvenido! Su usuario es kim@example.com." in bodies
    assert "Recibimos su solicitud para cancelar su servicio de electricidad" in bodies
    assert "Abra este enlace para elegir una contraseña:" in bodies
