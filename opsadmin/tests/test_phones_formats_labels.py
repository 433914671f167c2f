"""Issue #23 conventions: one phone format, one staff date/time format with the time zone,
and labels written for people."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from opsadmin.forms import SystemSetupForm, ThirdPartyProviderForm, UtilityForm
from opsadmin.models import SystemSetup, ThirdPartyProvider, Utility
from opsadmin.phones import phone_normalize
from prospects.forms import BrokerForm
from prospects.models import Broker


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("713-555-0100", "(713) 555-0100"),
        ("7135550100", "(713) 555-0100"),
        ("+1 (713) 555.0100", "(713) 555-0100"),
        (" 1 713 555 0100 ", "(713) 555-0100"),
        ("", ""),
    ],
)
def test_phone_normalize(typed, stored):
    assert phone_normalize(typed) == stored


def test_phone_normalize_refuses_or_keeps_what_is_not_a_us_number():
    with pytest.raises(ValueError, match="10-digit"):
        phone_normalize("555-0100")
    assert phone_normalize("+44 20 7946 0958", strict=False) == "+44 20 7946 0958"


@pytest.mark.django_db
def test_model_forms_store_the_normalised_phone_and_refuse_a_short_one():
    form = BrokerForm(data={"name": "Bo", "phone": "713.555.0100", "active": "on"})
    assert form.is_valid(), form.errors
    broker = form.save()
    assert Broker.objects.get(pk=broker.pk).phone == "(713) 555-0100"
    bad = BrokerForm(data={"name": "Bo", "phone": "555-01", "active": "on"})
    assert not bad.is_valid()
    assert bad.errors["phone"] == ["Enter a 10-digit US phone number, e.g. (713) 555-0100."]
    with pytest.raises(ValidationError):
        Broker(name="X", phone="12").full_clean()


def _render(text: str, **context) -> str:
    return Template(text).render(Context(context))


def test_staff_dates_and_times_have_one_format_with_the_zone():
    summer = datetime(2026, 7, 4, 19, 5, 9, tzinfo=UTC)  # 14:05 in Houston (CDT)
    winter = datetime(2026, 1, 15, 19, 5, tzinfo=UTC)  # 13:05 (CST)
    assert _render("{{ v|staff_datetime }}", v=summer) == "2026-07-04 14:05 CDT"
    assert _render("{{ v|staff_datetime }}", v=winter) == "2026-01-15 13:05 CST"
    assert _render('{{ v|staff_datetime:"seconds" }}', v=summer) == "2026-07-04 14:05:09 CDT"
    assert _render("{{ v|staff_date }}", v=date(2026, 3, 31)) == "2026-03-31"
    assert _render("{{ v|staff_date }}", v=summer) == "2026-07-04"
    assert _render('{{ v|staff_date|default:"—" }}', v=None) == "—"
    assert _render("{{ v|staff_month }}", v=date(2026, 3, 1)) == "2026-03"


def test_staff_templates_use_the_shared_formats_only():
    """No staff template formats a date on its own (customer pages use the locale)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    customer = re.compile(
        r"myaccount|/email/|flow\.html|public_base|authorizations/(start|status|_panel)"
    )
    offenders = []
    for path in root.glob("*/templates/**/*.html"):
        rel = str(path.relative_to(root))
        if rel.startswith(".venv") or customer.search(rel):
            continue
        if re.search(r'\|date:"', path.read_text()):
            offenders.append(rel)
    assert offenders == []


def test_labels_are_written_for_people():
    assert (
        SystemSetupForm().fields["show_etf_message_on_drops"].label == "Show ETF message on drops"
    )
    assert ThirdPartyProviderForm().fields["smt_auth_mode"].label == "SMT auth mode"
    utility_form = UtilityForm()
    assert utility_form.fields["esiid_prefixes"].label == "ESIID prefixes"
    assert utility_form.fields["price_to_compare_cents"].label == "Price to compare (¢/kWh)"
    assert Utility._meta.get_field("esiid_prefixes").verbose_name == "ESIID prefixes"
    assert SystemSetup._meta.get_field("show_etf_message_on_drops").verbose_name == (
        "Show ETF message on drops"
    )
    assert ThirdPartyProvider._meta.get_field("smt_auth_mode").verbose_name == "SMT auth mode"
