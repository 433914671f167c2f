"""Configured texts and service messages in the customer's language (PUCT Subst. R. 25.473).

Staff keep a Spanish version beside each configured text a customer reads (plan names, drop
reasons, programs, device types, meter labels); a Spanish-preferring customer reads the
Spanish, staff read the English and see the customer's language; a blank translation shows
the English. Service errors, usage-authorization status reasons and the usage download are
in the reader's language.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from authorizations.services import (
    authorization_create,
    authorization_renew,
    authorization_revoke,
)
from authorizations.tests.factories import ESIID, reference
from drops.models import DropRequest
from drops.services import drop_confirmation_email_send
from drops.tests import factories as df
from enrollments.models import Plan
from myaccount.tests.factories import intervals, portal_customer, smt_on
from opsadmin.i18n import in_each_language, localized, translation_fields
from programs.tests.factories import (
    customer_user,
    customer_with_premise,
    program_setup,
    reserve,
    staff_user,
)

pytestmark = pytest.mark.django_db


def _spanish(customer):
    customer.language = "es"
    customer.save(update_fields=["language"])
    return customer


def test_localized_picks_the_active_language_and_falls_back_to_english():
    plan = Plan(code="X", name="Saver 12", name_es="Ahorro 12")
    with translation.override("es"):
        assert (localized(plan, "name"), plan.local_name) == ("Ahorro 12", "Ahorro 12")
    with translation.override("es-us"):
        assert plan.local_name == "Ahorro 12"
    with translation.override("en"):
        assert plan.local_name == "Saver 12"
    assert localized(plan, "name", "en") == "Saver 12"
    plan.name_es = ""  # not translated yet: the customer still reads the plan's name
    with translation.override("es"):
        assert plan.local_name == "Saver 12"
    assert translation_fields(["code", "name", "active"], Plan) == [
        "code",
        "name",
        "name_es",
        "active",
    ]
    assert in_each_language("The agreement ended on %(date)s.", {"date": date(2026, 3, 4)}) == {
        "en": "The agreement ended on 03/04/2026.",
        "es": "El acuerdo terminó el 04/03/2026.",
    }


def test_spanish_customer_reads_spanish_plan_and_drop_reasons_staff_read_english(client):
    util = df.utility()
    plan = df.plan(code="SAVER12")
    plan.name_es = "Ahorro 12"
    plan.save(update_fields=["name_es"])
    df.drop_code(util, "MO", "Moving out of the area", description_es="Me mudo fuera del área")
    df.drop_code(util, "PR", "Found a better price")  # no Spanish yet: English shown
    e = df.active_enrollment(cust=_spanish(df.customer()), util=util, the_plan=plan)
    client.force_login(e.customer.user)

    dashboard = client.get("/myaccount/").content.decode()
    assert "Ahorro 12" in dashboard and "Fixed 12" not in dashboard

    form = client.get(f"/myaccount/manage/cancel/{e.service_account_id}/cancel/form/")
    html = form.content.decode()
    assert '<option value="MO">Me mudo fuera del área</option>' in html
    assert '<option value="PR">Found a better price</option>' in html
    when = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = client.post(
        f"/myaccount/manage/cancel/{e.service_account_id}/cancel/form/",
        {"requested_date": when, "reason": "MO"},
    )
    assert response.status_code == 302
    drop = DropRequest.objects.get()
    assert (drop.reason_code, drop.reason_description, drop.reason_description_es) == (
        "MO",
        "Moving out of the area",
        "Me mudo fuera del área",
    )
    detail = client.get(response["Location"]).content.decode()
    assert "Me mudo fuera del área" in detail

    # the confirmation email, in the customer's language
    from django.core import mail

    mail.outbox.clear()
    drop_confirmation_email_send(drop_request_id=drop.pk)
    assert "Motivo: Me mudo fuera del área" in mail.outbox[0].body

    # staff: English texts, the customer's language shown
    staff = Client()
    staff.force_login(staff_user(group="Ops", username="ops1"))
    queue = staff.get("/drops/").content.decode()
    assert "MO — Moving out of the area" in queue
    assert 'title="Customer\'s language">ES</small>' in queue
    details = staff.get(f"/enrollments/{e.pk}/").content.decode()
    assert "Fixed 12" in details and "Ahorro 12" not in details
    assert 'data-testid="customer-language">Spanish<' in details


def test_staff_edit_the_spanish_in_the_catalogue_screens():
    staff = Client()
    staff.force_login(staff_user(group="Admin", username="admin1"))
    plan = df.plan(code="FIXED24")
    page = staff.get(f"/enrollments/catalogue/plans/{plan.pk}/").content.decode()
    assert 'name="name_es"' in page
    assert 'name="description"' in page and 'name="description_es"' in page
    util = df.utility()
    assert (
        'name="meter_number_label_es"'
        in staff.get(f"/configuration/utilities/{util.pk}/").content.decode()
    )
    code = df.drop_code(util, "CR", "Customer requested")
    assert (
        'name="description_es"'
        in staff.get(f"/drops/settings/drop-codes/{code.pk}/").content.decode()
    )
    setup = program_setup(code="stat-es")
    program_page = staff.get(f"/programs/config/programs/{setup.program.pk}/").content.decode()
    assert 'name="name_es"' in program_page and 'name="description_es"' in program_page


def test_spanish_customer_reads_the_program_and_its_errors_in_spanish():
    setup = program_setup(code="no-opt", allows_opt_out=False)
    setup.program.name_es = "Recompensas por termostato"
    setup.program.description_es = "Ajustamos su termostato en las horas pico."
    setup.program.save()
    setup.thermostat.name_es = "Termostato inteligente"
    setup.thermostat.save()
    user, customer, premise = customer_user(email="luz@example.com")
    _spanish(customer)
    client = Client()
    client.force_login(user)
    enroll = client.get(f"/myaccount/programs/enroll/{setup.program.pk}/{premise.pk}/")
    html = enroll.content.decode()
    assert "Inscribirse en Recompensas por termostato" in html
    assert "Ajustamos su termostato en las horas pico." in html
    assert ">Termostato inteligente</option>" in html

    from programs import services

    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            services.DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="ES-1", network_address="n1"
            )
        ],
        channel="agent",
    )
    reservation = reserve(enrollment.devices.get(), starts_in_hours=5)
    response = client.post(
        f"/myaccount/programs/reservations/{reservation.pk}/opt-out/",
        {"confirmed": "yes"},
        follow=True,
    )
    assert (
        "Recompensas por termostato no permite excluirse de los eventos."
        in response.content.decode()
    )
    reservation.refresh_from_db()
    assert reservation.status == "reserved"


def test_program_ineligibility_reason_is_spanish_for_a_spanish_reader():
    from programs.selectors import program_ineligibility_reason

    setup = program_setup(code="closed")
    setup.program.active = False
    setup.program.name_es = "Recompensas"
    setup.program.save()
    customer, premise = customer_with_premise()
    with translation.override("es"):
        reason = program_ineligibility_reason(
            program=setup.program, customer=customer, service_account=premise
        )
    assert reason == "Recompensas no está abierto a inscripciones."


def _spanish_authorization(email: str):
    """A Spanish shopper's usage authorization, as the wizard starts one."""
    return authorization_create(
        origin="shopper",
        channel="wizard",
        esiid=ESIID,
        meter_number="M1",
        email=email,
        language="es",
        customer_type=reference()["res"],
        request_agreement=False,
    )


def test_authorization_status_reason_in_the_readers_language():
    auth = _spanish_authorization("a@example.com")
    authorization_renew(authorization=auth)
    auth.refresh_from_db()
    assert (auth.status_reason, auth.status_reason_es) == (
        "Renewal requested.",
        "Renovación solicitada.",
    )
    authorization_revoke(authorization=auth, client=None)  # no agreement made yet at SMT
    auth.refresh_from_db()
    assert (auth.status, auth.status_reason, auth.status_reason_es) == (
        "revoked",
        "Consent withdrawn.",
        "Consentimiento retirado.",
    )
    page = Client(headers={"accept-language": "es"}).get(f"/usage-authorization/s/{auth.token}/")
    assert "Consentimiento retirado." in page.content.decode()
    page = Client(headers={"accept-language": "en"}).get(f"/usage-authorization/s/{auth.token}/")
    assert "Consent withdrawn." in page.content.decode()


def test_usage_csv_columns_and_file_name_in_the_customers_language(client):
    smt_on()
    portal = portal_customer(first_name="Luz")
    intervals(portal.account, start=date(2024, 6, 1), end=date(2024, 6, 5))
    _spanish(portal.customer)
    client.force_login(portal.user)
    r = client.get(
        "/myaccount/usage.csv", {"period": "daily", "start": "2024-06-02", "end": "2024-06-03"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0] == ["inicio_periodo", "consumo_kwh", "generacion_kwh", "fuente", "estimado"]
    assert rows[1] == ["2024-06-02T00:00:00-05:00", "24.0000", "0", "smt", "false"]
    esiid = portal.account.esiid
    assert r["Content-Disposition"] == (
        f'attachment; filename="consumo-{esiid}-diario-2024-06-02-2024-06-03.csv"'
    )
    xml = client.get("/myaccount/usage.xml", {"start": "2024-06-02", "end": "2024-06-03"})
    body = xml.content.decode()
    assert "<title>Consumo de electricidad, " in body
    assert "<espi:IntervalBlock" in body or "IntervalBlock" in body  # ESPI names stay


def test_staff_customer_rows_show_the_customers_language():
    staff = Client()
    staff.force_login(staff_user(group="Agent", username="agent2"))
    customer, _premise = customer_with_premise(email="rosa@example.com")
    _spanish(customer)
    listing = staff.get("/programs/", {"q": "rosa@example.com"}).content.decode()
    assert '<th scope="col">Language</th>' in listing
    assert "<td>rosa@example.com</td><td>Spanish</td>" in listing
    summary = staff.get(f"/programs/customers/{customer.pk}/").content.decode()
    assert 'data-testid="customer-language">Spanish<' in summary


def test_a_refused_upload_is_explained_in_spanish_line_by_line():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from authorizations.models import MonthlyUsage
    from authorizations.parsers import SMT_CSV_HEADER

    auth = _spanish_authorization("a@example.com")
    body = ",".join(SMT_CSV_HEADER) + f"\n'{ESIID},01/01/2025,,00:00,00:15,lots,A,Consumption\n"
    response = Client(headers={"accept-language": "es"}).post(
        f"/usage-authorization/s/{auth.token}/upload/",
        {"kind": "smt_csv", "file": SimpleUploadedFile("bad.csv", body.encode())},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "No pudimos leer este CSV; no se guardó nada." in html
    assert "Línea 2: los kWh &#x27;lots&#x27; no son un número." in html
    assert not MonthlyUsage.objects.filter(authorization=auth).exists()


def test_authorization_reminder_email_and_lapse_in_the_persons_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    from authorizations.services import authorizations_maintain

    auth = _spanish_authorization("rosa@example.com")
    authorization_renew(authorization=auth)  # asked at SMT now
    with django_capture_on_commit_callbacks(execute=True):
        counts = authorizations_maintain(now=timezone.now() + timedelta(hours=25))
    assert counts["reminded"] == 1
    assert [m.subject for m in mailoutbox] == ["Recordatorio: apruebe compartir su consumo"]
    assert mailoutbox[0].body.startswith(
        "Smart Meter Texas le envió por correo una solicitud para compartir con nosotros su "
        "consumo de electricidad."
    )
    assert f"/usage-authorization/s/{auth.token}/" in mailoutbox[0].body
    authorizations_maintain(now=timezone.now() + timedelta(hours=73))
    auth.refresh_from_db()
    assert (auth.status, auth.status_reason_es) == (
        "expired",
        "No se aprobó a tiempo: la solicitud venció. Vuelva a pedirla o suba un archivo.",
    )
    assert auth.status_reason.startswith("Not approved in time")  # what staff read


@pytest.mark.django_db
def test_signup_choices_and_meter_label_follow_the_readers_language():
    """The Signup Wizard's customer types, referral answers and the utility's meter label are
    configured texts: Spanish for a Spanish reader, the English value is still what is posted."""
    from enrollments.forms import DetailsForm, OptionsForm, SearchForm
    from enrollments.models import Enrollment, ReferralSource
    from opsadmin.models import CustomerType, Utility

    CustomerType.objects.update_or_create(
        code="residential", defaults={"name": "Residential", "name_es": "Residencial"}
    )
    ReferralSource.objects.create(name="Radio ad", name_es="Anuncio de radio")
    utility = Utility.objects.create(
        code="cnp-es",
        name="CenterPoint",
        esiid_prefixes=["1008901"],
        meter_number_label="Meter Number",
        meter_number_label_es="Número de medidor",
    )
    wizard = Enrollment.Channel.WIZARD
    with translation.override("es"):
        types = dict(SearchForm(channel=wizard).fields["customer_type"].choices)
        referrals = dict(
            OptionsForm(utilities=[utility], channel=wizard).fields["referral_source"].choices
        )
        details = DetailsForm(utility=utility, channel=wizard, existing_customer=None)
        assert types["residential"] == "Residencial"
        assert referrals["Radio ad"] == "Anuncio de radio"
        assert details.fields["meter_number"].label == "Número de medidor"
    with translation.override("en"):
        assert (
            dict(SearchForm(channel=wizard).fields["customer_type"].choices)["residential"]
            == "Residential"
        )


def _free_nights_plan() -> Plan:
    from decimal import Decimal

    from enrollments.models import TouPeriod

    plan = df.plan(code="NIGHTS12")
    TouPeriod.objects.create(
        plan=plan,
        name="Free nights",
        name_es="Noches gratis",
        energy_charge_cents=Decimal("0"),
        start_hour=21,
        end_hour=6,
    )
    TouPeriod.objects.create(  # not translated yet
        plan=plan,
        name="Weekend saver",
        energy_charge_cents=Decimal("5"),
        start_hour=0,
        end_hour=0,
        days_of_week=[6, 7],
        sort_order=1,
    )
    return plan


def test_time_of_use_period_names_in_the_readers_language():
    """The price structure every customer pricing table is built from (products table,
    shopper authorization, renewal, bill projection) names each period in the reader's
    language; a period without a Spanish name shows its English one."""
    from enrollments.pricing import price_structure, price_structures

    plan = _free_nights_plan()
    (one,) = price_structures([plan], None)  # one query for many plans
    assert one == price_structure(plan, None)  # one plan on its own: the same periods
    with translation.override("es"):
        assert [p.local_name for p in one.periods] == ["Noches gratis", "Weekend saver"]
        assert [p.local_name for p in plan.tou_periods.all()] == [
            "Noches gratis",
            "Weekend saver",
        ]
    with translation.override("en"):
        assert [p.local_name for p in one.periods] == ["Free nights", "Weekend saver"]
    assert [p.name for p in one.periods] == ["Free nights", "Weekend saver"]  # staff read


def test_staff_keep_the_spanish_period_name_beside_the_english_one():
    from enrollments.catalogue_views import _kind
    from enrollments.models import TouPeriod
    from opsadmin.models import CustomerType

    plan = _free_nights_plan()
    plan.utilities.set([df.utility()])
    plan.customer_types.set([CustomerType.objects.create(code="res-tou", name="Residential")])
    staff = Client()
    staff.force_login(staff_user(group="Admin", username="admin-tou"))
    page = staff.get(f"/enrollments/catalogue/plans/{plan.pk}/").content.decode()
    assert '<label for="id_tou-0-name_es">Name (Spanish)</label>' in page
    assert 'name="tou-0-name_es"' in page and 'value="Noches gratis"' in page

    # save the plan as it is, with the second period's Spanish name filled in
    form = _kind("plans").form(instance=plan)
    data: dict[str, object] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = (
            [str(v.pk if hasattr(v, "pk") else v) for v in value]
            if isinstance(value, list)
            else ("on" if value is True else str(value))
        )
    periods = list(plan.tou_periods.all())
    data.update({"tou-TOTAL_FORMS": "2", "tou-INITIAL_FORMS": "2"})
    for i, p in enumerate(periods):
        data.update(
            {
                f"tou-{i}-id": str(p.pk),
                f"tou-{i}-name": p.name,
                f"tou-{i}-name_es": p.name_es or "Fin de semana",
                f"tou-{i}-energy_charge_cents": str(p.energy_charge_cents),
                f"tou-{i}-start_hour": str(p.start_hour),
                f"tou-{i}-end_hour": str(p.end_hour),
                f"tou-{i}-days_of_week": [str(d) for d in p.days_of_week],
                f"tou-{i}-sort_order": str(p.sort_order),
            }
        )
    response = staff.post(f"/enrollments/catalogue/plans/{plan.pk}/", data)
    assert response.status_code == 302
    assert list(TouPeriod.objects.filter(plan=plan).values_list("name", "name_es")) == [
        ("Free nights", "Noches gratis"),
        ("Weekend saver", "Fin de semana"),
    ]
