"""Chromium with a Spanish browser: a Spanish-preferring customer signs up, then uses
My Account (dashboard, usage, payments, Cancel / Move Out) and receives every email in
Spanish; axe finds no serious or critical violation on any page (PUCT Subst. R. 25.473)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module
from urllib.parse import urlsplit

import httpx
import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format

from conftest import axe_violations, wait_until
from drops.models import DropRequest
from enrollments.dates import earliest_start_date
from enrollments.models import Enrollment
from enrollments.tests.factories import ensure_reference_data, make_catalogue
from opsadmin import clock
from opsadmin.management import journeys
from partners.services import api_key_create, partner_get_or_create
from programs.models import Program, SyncRequest
from programs.tasks import events_poll
from renewals.models import RenewalNotice, RenewalSetup
from renewals.tasks import renewals_daily
from tests.test_lifecycle_e2e import body_of, messages_to, poll_until, run
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

    assert drop.local_reason_description == drop.reason_description  # no codes here

    # --- the password reset email, sent by the web request (the worker's emails: below) --
    mail.outbox.clear()
    page.goto("/myaccount/password-reset/")
    page.get_by_role("heading", name="Restablecer su contraseña").wait_for()
    page.get_by_label("Correo electrónico").fill("kim@example.com")
    page.get_by_role("button", name="Enviar el enlace").click()
    page.get_by_role("heading", name="Revise su correo").wait_for()
    assert [m.subject for m in mail.outbox] == ["Elija su contraseña de Mi Cuenta"]
    assert "Abra este enlace para elegir una contraseña:" in mail.outbox[0].body


# --- the worker's emails, through the product's flows -----------------------------------------


@pytest.fixture
def worker_world(mailbox, simulators_url, celery_worker, market_clock):
    """The demo market (seed_demo: Spanish plan names, drop reasons, program and renewal
    notices) with a real worker whose mail lands in ``mailbox``'s files."""
    ensure_reference_data()
    import_module("renewals.migrations.0002_default_templates").create(django_apps, None)
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    httpx.post(f"{simulators_url}/esg/_config", json={"pending_seconds": 0.2}).raise_for_status()
    return {"sim": simulators_url, "clock": market_clock, "mailbox": mailbox}


def _one_mail(mailbox, address: str, subject: str):
    """The worker's message to ``address`` with ``subject`` (waits for it)."""

    def found():
        return [m for m in messages_to(mailbox, address) if _subject(m) == subject]

    return wait_until(found, timeout=60)[0]


def _subject(msg) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(msg["Subject"] or "")))


@pytest.mark.worker
def test_spanish_customer_gets_every_email_from_the_worker_in_spanish(
    es_page, live_server, worker_world
):
    """A partner enrolls a Spanish-preferring customer (Enrollment API); the worker drives
    the billing system's answers and sends, in Spanish: the set-password email at service
    start, a program event notice, a renewal notice and the drop confirmation. The customer
    opens each link and page in a Spanish browser; axe finds nothing serious."""
    page, mc, mailbox = es_page, worker_world["clock"], worker_world["mailbox"]
    partner = partner_get_or_create(name="Acme Sales")[0]
    key = api_key_create(partner=partner)[1]
    esiid, email = "10443720000041001", "lucia@example.com"
    body = {
        "partner_reference": "R-ES-1",
        "zip_code": "75201",
        "utility_code": "oncor",
        "customer_type_code": "residential",
        "plan_code": "SAVER12",
        "first_name": "Lucía",
        "last_name": "Ramírez",
        "email": email,
        "language": "es",
        "esiid": esiid,
        "address_line1": "12 Elm St",
        "city": "Dallas",
        "requested_start_date": earliest_start_date("switch").isoformat(),
    }
    response = Client().post(
        "/api/v1/enrollments",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY="es-life-1",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]

    # The worker sends Create Prospect; ESG accepts; service starts on the requested day.
    wait_until(lambda: Enrollment.objects.filter(pk=pk, status="pending").exists(), timeout=90)
    accepted = poll_until(pk, "accepted")
    mc.set(accepted.requested_start_date)
    active = poll_until(pk, "active")
    assert active.customer.language == "es"

    # --- set-password email: the worker welcomes the partner's customer at service start --
    welcome = _one_mail(mailbox, email, "Su acceso a Mi Cuenta")
    text = body_of(welcome)
    assert text.startswith("¡Bienvenido! Su usuario es lucia@example.com.")
    assert "Elija su contraseña aquí (el enlace funciona una sola vez):" in text
    link = next(line for line in text.splitlines() if "/myaccount/set-password/" in line)
    page.goto(urlsplit(link).path)
    page.get_by_role("heading", name="Elija su contraseña").wait_for()
    _spanish_and_accessible(page)
    page.locator("#id_new_password1").fill(PASSWORD)
    page.locator("#id_new_password2").fill(PASSWORD)
    page.get_by_role("button", name="Guardar contraseña").click()
    page.get_by_text("Su contraseña quedó guardada. Inicie sesión con ella ahora.").wait_for()
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("heading", name="Hola, Lucía").wait_for()
    assert page.get_by_text("Ahorro 12").count() >= 1  # the plan's Spanish name (seed_demo)
    _spanish_and_accessible(page)

    # --- a program event: enroll a thermostat in Spanish, the DERMS announces an event ----
    program = Program.objects.get(code="smart-stat")
    sa = active.service_account_id
    page.goto("/myaccount/programs/")
    page.locator(f'a[href="/myaccount/programs/enroll/{program.pk}/{sa}/"]').click()
    page.get_by_role(
        "heading", name="Inscribirse en Recompensas por termostato inteligente"
    ).wait_for()
    _spanish_and_accessible(page)
    page.get_by_label("Tipo de dispositivo").select_option(label="Termostato inteligente")
    page.get_by_label("Número de serie").fill("ES-STAT-1")
    page.get_by_label("Dirección de red").fill("mac-es-1")
    page.get_by_role("button", name="Inscribir mi dispositivo").click()
    page.get_by_text("Quedó inscrito en Recompensas por termostato inteligente.").wait_for()
    _spanish_and_accessible(page)
    wait_until(
        lambda: not SyncRequest.objects.exclude(state=SyncRequest.State.SENT).exists(), timeout=60
    )
    tomorrow = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    httpx.post(
        f"{worker_world['sim']}/derms/_control/events",
        json={
            "program": "smart-stat",
            "event_id": "EV-ES-1",
            "starts_at": (tomorrow + timedelta(hours=15)).isoformat(),
            "ends_at": (tomorrow + timedelta(hours=16)).isoformat(),
        },
    ).raise_for_status()
    assert run(events_poll)["notified"] == 1
    event_mail = _one_mail(
        mailbox, email, "Su Termostato inteligente está programado para un evento de energía"
    )
    text = body_of(event_mail)
    assert text.startswith("Hola, Lucía:")
    assert (
        "Su Termostato inteligente (número de serie ES-STAT-1) está reservado para un evento "
        "de energía de Recompensas por termostato inteligente:"
    ) in " ".join(text.split())

    # --- renewal notice: scheduled near the contract end, sent by the worker on its day ---
    setup = RenewalSetup.load()
    end = active.contract_end_date
    mc.set(end - timedelta(days=setup.lookahead_days))
    assert run(renewals_daily)["scheduled"] == setup.notice_count
    first = RenewalNotice.objects.get(enrollment_id=pk, sequence=1)
    mc.set(first.scheduled_for)
    run(renewals_daily)
    notice = _one_mail(
        mailbox, email, "Aviso de vencimiento de contrato. Vea el documento adjunto."
    )
    text = " ".join(body_of(notice).split())
    assert "Estimado/a Lucía Ramírez:" in text
    with translation.override("es"):
        spanish_end = date_format(end, "j \\d\\e F \\d\\e Y")  # e.g. 17 de enero de 2027
    assert f"con el plan Ahorro 12 (SAVER12) vence el {spanish_end}." in text
    first.refresh_from_db()
    assert (first.sent, first.language, first.language_fallback_from) == (True, "es", "")

    # --- Cancel in My Account; the worker confirms in Spanish ------------------------------
    page.goto("/myaccount/manage/cancel/")
    page.get_by_role("heading", name="Cancelar o mudarse").wait_for()
    page.get_by_role("link", name="Cancelar el servicio en 12 Elm St").click()
    page.get_by_role("heading", name="¿Desea continuar?").wait_for()
    _spanish_and_accessible(page)
    page.get_by_role("link", name="Sí, continuar").click()
    when = page.get_by_label("Fecha para terminar el servicio")
    when.wait_for()
    assert page.get_by_text("Motivo: Solicitado por el cliente").count() == 1  # Oncor's one code
    _spanish_and_accessible(page)
    when.fill(when.get_attribute("min"))
    page.get_by_role("button", name="Enviar solicitud").click()
    page.get_by_role("heading", name="Recibimos su solicitud").wait_for()
    _spanish_and_accessible(page)
    confirmation = _one_mail(mailbox, email, "Su solicitud de cancelación")
    text = body_of(confirmation)
    assert text.startswith("Hola, Lucía:")
    assert "Recibimos su solicitud para cancelar su servicio de electricidad en 12 Elm St" in text
    assert "Motivo: Solicitado por el cliente" in text
