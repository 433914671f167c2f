"""Renewal notices in the customer's language (PUCT Subst. R. 25.473): the Spanish template
when there is one, else English with a note staff see; the export shows the language."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.test import Client

from notices.models import NoticeTemplate
from renewals.models import RenewalNotice, RenewalSetup
from renewals.selectors import EXPORT_HEADERS, RenewalFilters, renewal_notice_rows
from renewals.services import renewal_notices_schedule, renewal_notices_send_due
from renewals.tests import factories as f

pytestmark = pytest.mark.django_db


def _spanish_customer_notice(**kwargs):
    e = f.enrollment(end=date(2025, 4, 1), plan_obj=f.plan("FIX3", term_months=3), **kwargs)
    e.customer.language = "es"
    e.customer.save(update_fields=["language"])
    renewal_notices_schedule(today=date(2025, 3, 1))
    return e


def _spanish_version(base: NoticeTemplate) -> NoticeTemplate:
    return NoticeTemplate.objects.create(
        code=f"{base.code}-es",
        name=f"{base.name} (español)",
        kind=base.kind,
        record_kind=base.record_kind,
        language="es",
        translation_of=base,
        subject="Aviso de vencimiento de contrato",
        body="<p>Su contrato termina el [CONTRACT_END_DATE].</p>",
    )


def test_spanish_customer_gets_the_spanish_template_and_the_export_says_so(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    e = _spanish_customer_notice()
    _spanish_version(RenewalSetup.load().email_template)
    assert renewal_notices_send_due(today=date(2025, 3, 2)) == {"sent": 1}
    message = mail.outbox[0]
    assert message.subject == "Aviso de vencimiento de contrato"
    assert message.to == [e.customer.email]
    assert message.body == "Su contrato termina el 1 de abril de 2025."
    notice = RenewalNotice.objects.get(enrollment=e, sequence=1)
    assert (notice.language, notice.language_fallback_from) == ("es", "")
    assert EXPORT_HEADERS[-1] == "Notice Language"
    languages = [r[-1] for r in renewal_notice_rows(filters=RenewalFilters())]
    assert languages == ["Spanish", "Spanish", "Spanish"]  # sent one, and two to come


def test_without_a_spanish_template_english_goes_out_and_staff_see_why(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    e = _spanish_customer_notice()
    assert renewal_notices_send_due(today=date(2025, 3, 2)) == {"sent": 1}
    assert mail.outbox[0].subject == "Contract Expiration Notice. See Enclosed."
    notice = RenewalNotice.objects.get(enrollment=e, sequence=1)
    assert (notice.language, notice.language_fallback_from) == ("en", "es")
    rows = list(renewal_notice_rows(filters=RenewalFilters()))
    assert rows[0][-1] == "English (no Spanish template)"
    assert rows[1][-1] == "Spanish"  # not sent yet: the customer's language
    client = Client()
    client.force_login(f.staff("Ops"))
    page = client.get("/renewals/").content.decode()
    assert "no ES template" in page


def test_an_inactive_translation_is_not_used(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _spanish_customer_notice()
    spanish = _spanish_version(RenewalSetup.load().email_template)
    spanish.active = False
    spanish.save()
    renewal_notices_send_due(today=date(2025, 3, 2))
    assert mail.outbox[0].subject == "Contract Expiration Notice. See Enclosed."


def test_the_shipped_spanish_notice_goes_to_a_spanish_customer_with_spanish_values(settings):
    """seed_demo's Spanish renewal templates (renewals.services): the customer's Spanish plan
    name and a Spanish date go into them; a second call adds nothing."""
    from renewals.services import renewal_templates_spanish_ensure

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    e = _spanish_customer_notice()
    e.plan.name_es = "Fijo 3"
    e.plan.save(update_fields=["name_es"])
    made = renewal_templates_spanish_ensure()
    assert sorted((t.kind, t.language) for t in made) == [("email", "es"), ("letter", "es")]
    assert renewal_templates_spanish_ensure() == []
    assert renewal_notices_send_due(today=date(2025, 3, 2)) == {"sent": 1}
    message = mail.outbox[0]
    assert message.subject == "Aviso de vencimiento de contrato. Vea el documento adjunto."
    assert "con el plan Fijo 3\n(FIX3) vence el 1 de abril de 2025." in message.body
    notice = RenewalNotice.objects.get(enrollment=e, sequence=1)
    assert (notice.language, notice.language_fallback_from) == ("es", "")
