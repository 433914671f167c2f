"""Sensitive data at rest: SSN, DOB, driver's licence and third-party secrets are ciphertext
in the database, keys rotate, the full SSN goes once billing has it, and none of them is
ever logged or shown back in full."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from billing import outbox
from billing.models import BillingRequest
from enrollments.models import Customer, Enrollment, EnrollmentDraft
from enrollments.services import EnrollmentInput, enrollment_submit
from enrollments.tests.factories import CNP_ESIID, make_catalogue, make_staff
from opsadmin.crypto import DecryptionError
from opsadmin.models import ThirdPartyProvider

pytestmark = pytest.mark.django_db

SSN = "123-45-6789"
SSN_DIGITS = "123456789"
DOB = "1971-03-09"
DL = "TX48213377"
SMT_PASSWORD = "smt-pw-Zq8#kL2"
ESG_KEY = "esg-key-7Hd9QpX2"
DERMS_KEY = "derms-key-Uv3Rw8"
SECRETS = (SSN, SSN_DIGITS, DOB, DL, SMT_PASSWORD, ESG_KEY, DERMS_KEY)


def raw(table: str, columns: list[str], where: str, param) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where} = %s",  # noqa: S608
            [param],
        )
        return cursor.fetchone()


def submit(
    *, ssn: str = SSN, esiid: str = CNP_ESIID, email: str = "rosa@example.com"
) -> Enrollment:
    return enrollment_submit(
        data=EnrollmentInput(
            zip_code="77002",
            utility_code="centerpoint",
            customer_type_code="residential",
            plan_code="SAVER12",
            first_name="Rosa",
            last_name="Vega",
            email=email,
            esiid=esiid,
            address_line1="1 Main St",
            city="Houston",
            phone="7135550100",
            date_of_birth=DOB,
            ssn=ssn,
            drivers_license=DL,
        ),
        channel="quick",
    )


def configure_providers(simulators_url: str) -> None:
    provider = ThirdPartyProvider.load()
    provider.smt_api_url = f"{simulators_url}/smt"
    provider.smt_username = "REP1"
    provider.smt_password = SMT_PASSWORD
    provider.esg_api_url = f"{simulators_url}/esg"
    provider.esg_api_key = ESG_KEY
    provider.derms_api_url = f"{simulators_url}/derms"
    provider.derms_api_key = DERMS_KEY
    provider.save()


def test_database_columns_hold_ciphertext():
    make_catalogue()
    enrollment = submit()
    columns = ["ssn", "date_of_birth", "drivers_license", "ssn_last4"]
    ssn, dob, dl, last4 = raw("enrollments_customer", columns, "id", enrollment.customer_id)
    for stored, plain in ((ssn, SSN), (dob, DOB), (dl, DL)):
        assert stored.startswith("enc1:")
        assert plain not in stored
    assert last4 == "6789"
    customer = Customer.objects.get(pk=enrollment.customer_id)
    assert (customer.ssn, customer.date_of_birth, customer.drivers_license) == (SSN, DOB, DL)

    provider = ThirdPartyProvider.load()
    provider.smt_password = SMT_PASSWORD
    provider.esg_api_key = ESG_KEY
    provider.derms_api_key = DERMS_KEY
    provider.save()
    stored = raw(
        "opsadmin_thirdpartyprovider",
        ["smt_password", "esg_api_key", "derms_api_key"],
        "id",
        provider.pk,
    )
    for value, plain in zip(stored, (SMT_PASSWORD, ESG_KEY, DERMS_KEY), strict=True):
        assert value.startswith("enc1:") and plain not in value


def test_rotate_field_keys_reencrypts_every_field_under_the_newest_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    make_catalogue()
    customer_ids = []
    for n in range(5):
        e = submit(
            ssn=f"123-45-{6780 + n}",
            esiid=f"10089010000000000001{n:02d}",
            email=f"r{n}@example.com",
        )
        customer_ids.append(e.customer_id)
    provider = ThirdPartyProvider.load()
    provider.esg_api_key = ESG_KEY
    provider.save()
    before = raw("opsadmin_thirdpartyprovider", ["esg_api_key"], "id", provider.pk)[0]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_field_keys", batch_size=2, stdout=open("/dev/null", "w"))  # noqa: SIM115

    # Only the new key now: every value still reads back, so all were re-encrypted.
    settings.FIELD_ENCRYPTION_KEYS = [new]
    for n, pk in enumerate(customer_ids):
        customer = Customer.objects.get(pk=pk)
        assert customer.ssn == f"123-45-{6780 + n}"
        assert customer.date_of_birth == DOB
    assert ThirdPartyProvider.load().esg_api_key == ESG_KEY
    after = raw("opsadmin_thirdpartyprovider", ["esg_api_key"], "id", provider.pk)[0]
    assert after != before
    # And the old key alone no longer reads them: a wrong key fails loudly.
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(DecryptionError):
        Customer.objects.get(pk=customer_ids[0])


def test_rotate_stops_on_a_value_no_key_decrypts(settings):
    make_catalogue()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    enrollment = submit()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    out = open("/dev/null", "w")  # noqa: SIM115
    with pytest.raises(Exception, match=f"id {enrollment.customer_id}: no configured key"):
        call_command("rotate_field_keys", stdout=out)


def test_rotate_covers_every_encrypted_model():
    from opsadmin.management.commands.rotate_field_keys import encrypted_fields

    labels = {model._meta.label: names for model, names in encrypted_fields()}
    assert labels["enrollments.Customer"] == ["date_of_birth", "ssn", "drivers_license"]
    assert labels["opsadmin.ThirdPartyProvider"] == ["smt_password", "esg_api_key", "derms_api_key"]
    assert labels["enrollments.EnrollmentDraft"] == ["secret"]
    assert EnrollmentDraft  # imported for the label above


def test_end_to_end_ssn_dob_and_secrets_never_logged_or_shown(client, caplog, simulators_url):
    """Submit with SSN/DOB/DL, send Create Prospect to the ESG simulator over HTTP, open the
    staff enrollment details: at DEBUG, no log record and no page holds a secret; once
    billing acknowledged, only the SSN's last 4 remain."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "django.db.backends", "billing", "enrollments"):
        caplog.set_level(logging.DEBUG, logger=name)
    make_catalogue()
    configure_providers(simulators_url)
    enrollment = submit()
    row = BillingRequest.objects.get(subject_type="enrollment", subject_id=enrollment.pk)
    assert outbox.send(row.pk) == "sent"
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.PENDING

    customer = Customer.objects.get(pk=enrollment.customer_id)
    assert customer.ssn == ""  # billing has it: only the last 4 stay
    assert customer.ssn_last4 == "6789"
    assert raw("enrollments_customer", ["ssn"], "id", customer.pk)[0] == ""

    pages = []
    for group in ("Agent", "Ops", "Admin"):
        client.force_login(make_staff(f"viewer-{group.lower()}", group))
        response = client.get(f"/enrollments/{enrollment.pk}/")
        assert response.status_code == 200
        pages.append(response.content.decode())
    assert all("Vega" in p for p in pages)  # the real details page, not an error

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    payloads = " ".join(str(p) for p in BillingRequest.objects.values_list("payload", flat=True))
    leaks = [
        (where, secret)
        for secret in SECRETS
        for where, text in (("logs", logged), ("outbox", payloads), *(("page", p) for p in pages))
        if secret in text
    ]
    assert leaks == []
    assert len(caplog.records) > 0
