"""Phones stored before the one phone rule (opsadmin.phones) are rewritten into its form by
the data migrations enrollments 0011 and prospects 0002; what is not a US number stays."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.apps import apps as current_apps

from enrollments.models import Customer
from opsadmin.models import CustomerType
from opsadmin.phones import phones_normalise_stored
from prospects.models import Broker, Prospect, ProspectContact

pytestmark = pytest.mark.django_db

# typed before the rule -> stored after the migration ("" / already normal: not rewritten)
TYPED = {
    "713.555.0142": "(713) 555-0142",
    "+1 (713) 555 0142": "(713) 555-0142",
    "7135550143": "(713) 555-0143",
    "1-832-555-0100 ": "(832) 555-0100",
    "(713) 555-0144": "(713) 555-0144",
    "": "",
    "555-0100": "555-0100",  # too short: kept as typed
    "+44 20 7946 0958": "+44 20 7946 0958",  # a foreign number the API let in: kept
    "call after 5": "call after 5",
}


def _migration(name: str):
    return importlib.import_module(name)


def _customers() -> dict[str, int]:
    kind = CustomerType.objects.create(code="residential-ph", name="Residential")
    ids = {}
    for i, typed in enumerate(TYPED):
        c = Customer.objects.create(
            customer_type=kind, first_name="P", last_name=str(i), email=f"p{i}@example.com"
        )
        # .update(): a raw write, as rows were stored before clean() normalised them
        Customer.objects.filter(pk=c.pk).update(phone=typed)
        ids[typed] = c.pk
    return ids


def test_customer_phones_are_normalised_and_garbage_is_kept(caplog):
    ids = _customers()
    migration = _migration("enrollments.migrations.0011_normalise_stored_phones")
    with caplog.at_level(logging.INFO, logger="opsadmin.phones"):
        migration.normalise(current_apps, None)
    stored = dict(Customer.objects.values_list("pk", "phone"))
    assert {typed: stored[pk] for typed, pk in ids.items()} == TYPED
    # the generated search column follows the rewritten phone
    assert Customer.objects.get(pk=ids["713.555.0142"]).phone_digits == "7135550142"
    (record,) = [r for r in caplog.records if r.msg.startswith("phones.normalised_stored")]
    assert (record.model, record.changed, record.left) == ("enrollments.Customer", 4, 3)
    assert record.getMessage().endswith("model=enrollments.Customer field=phone changed=4 left=3")
    # running it again changes nothing (idempotent) and counts the same leftovers
    again = phones_normalise_stored(Customer, "phone")
    assert (again.changed, again.left) == (0, 3)


def test_batches_smaller_than_the_table_rewrite_every_row():
    ids = _customers()
    result = phones_normalise_stored(Customer, "phone", batch_size=2)
    assert (result.changed, result.left) == (4, 3)
    stored = dict(Customer.objects.values_list("pk", "phone"))
    assert {typed: stored[pk] for typed, pk in ids.items()} == TYPED


def test_broker_and_contact_phones_are_normalised():
    broker = Broker.objects.create(name="Ana")
    odd = Broker.objects.create(name="Odd")
    prospect = Prospect.objects.create(company_name="Acme")
    contact = ProspectContact.objects.create(
        prospect=prospect, first_name="Bo", last_name="Lee", email="bo@example.com"
    )
    Broker.objects.filter(pk=broker.pk).update(phone="+1 (713) 555 0142")
    Broker.objects.filter(pk=odd.pk).update(phone="ext. 12")
    ProspectContact.objects.filter(pk=contact.pk).update(phone="832.555.0100")

    _migration("prospects.migrations.0002_normalise_stored_phones").normalise(current_apps, None)

    assert dict(Broker.objects.values_list("name", "phone")) == {
        "Ana": "(713) 555-0142",
        "Odd": "ext. 12",
    }
    contact.refresh_from_db()
    assert contact.phone == "(832) 555-0100"


def test_the_migrations_reverse_as_no_ops():
    from django.db import migrations

    for name in (
        "enrollments.migrations.0011_normalise_stored_phones",
        "prospects.migrations.0002_normalise_stored_phones",
    ):
        (operation,) = _migration(name).Migration.operations
        assert operation.reversible
        assert operation.reverse_code is migrations.RunPython.noop
