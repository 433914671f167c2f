"""Projected-bill emails: sent once per billing cycle when the projection passes the
customer's amount, not again in that cycle, again in the next one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from usage.models import BillAlert
from usage.services import bill_alert_set, bill_alerts_send
from usage.tests.factories import premise, smt_on
from usage.tests.test_tou_and_projection import cnp_tdu, store

pytestmark = pytest.mark.django_db
D = Decimal


def test_alert_sent_once_per_cycle(mailoutbox):
    sa = premise()
    smt_on()
    cnp_tdu(sa)
    store(sa, date(2026, 6, 1), date(2026, 6, 15))  # projection $133.99 (see the projection test)
    bill_alert_set(service_account=sa, threshold=D("200"))
    assert bill_alerts_send(today=date(2026, 6, 16)) == 0  # below the amount
    bill_alert_set(service_account=sa, threshold=D("120"))
    assert bill_alerts_send(today=date(2026, 6, 16)) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [sa.customer.email]
    assert mail.subject == "Your projected bill is $133.99"
    assert "above the $120.00" in mail.body and "$69.19" in mail.body
    assert bill_alerts_send(today=date(2026, 6, 16)) == 0  # not again this cycle
    assert bill_alerts_send(today=date(2026, 6, 20)) == 0
    alert = BillAlert.objects.get(service_account=sa)
    assert (alert.last_sent_cycle_start, alert.last_sent_amount) == (
        date(2026, 6, 1),
        D("133.99"),
    )
    # the next cycle (no billing account number: the calendar month) alerts again
    store(sa, date(2026, 6, 16), date(2026, 7, 15))
    assert bill_alerts_send(today=date(2026, 7, 16)) == 1
    assert len(mailoutbox) == 2


def test_opt_out_stops_alerts(mailoutbox):
    sa = premise()
    smt_on()
    cnp_tdu(sa)
    store(sa, date(2026, 6, 1), date(2026, 6, 15))
    bill_alert_set(service_account=sa, threshold=D("50"))
    bill_alert_set(service_account=sa, threshold=None)
    assert bill_alerts_send(today=date(2026, 6, 16)) == 0
    assert mailoutbox == []
    assert BillAlert.objects.get(service_account=sa).active is False


def test_alert_email_in_the_customers_language(mailoutbox):
    """A Spanish-preferring customer (set through My Account's language switch) gets the
    alert in Spanish, assumptions included; the amounts stay the same."""
    from myaccount.services import customer_language_set

    sa = premise()
    smt_on()
    cnp_tdu(sa)
    store(sa, date(2026, 6, 1), date(2026, 6, 15))
    customer_language_set(customer=sa.customer, language="es")
    bill_alert_set(service_account=sa, threshold=D("120"))
    assert bill_alerts_send(today=date(2026, 6, 16)) == 1
    mail = mailoutbox[0]
    assert mail.subject == "Su factura proyectada es de $133.99"
    assert "por encima de los $120.00" in mail.body
    assert "Ciclo de facturación del 1 jun al 30 jun 2026" in mail.body
    assert "Cómo la proyectamos:" in mail.body
    assert "Your bill" not in mail.body and "How we project" not in mail.body
