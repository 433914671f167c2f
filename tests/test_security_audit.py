"""Audit trail: who changed what and when (pghistory), readable by Admin on each object."""

from __future__ import annotations

import pytest
from django.db import connection
from pghistory.core import event_models

from drops.models import DropCode, DropRequest, DropSettings
from enrollments.models import Enrollment, Plan
from opsadmin.models import CustomerType, SystemSetup, ThirdPartyProvider, Utility
from opsadmin.tests.factories import staff
from partners.models import Partner, PartnerApiKey

pytestmark = pytest.mark.django_db

TRACKED = [
    Enrollment,
    Plan,
    DropRequest,
    DropCode,
    DropSettings,
    SystemSetup,
    ThirdPartyProvider,
    Utility,
    CustomerType,
    PartnerApiKey,
]
NEVER_IN_HISTORY = {
    ThirdPartyProvider: {"smt_password", "esg_api_key", "derms_api_key"},
    PartnerApiKey: {"key_hash"},
}


@pytest.mark.parametrize("model", TRACKED, ids=lambda m: m._meta.label)
def test_model_is_tracked_and_secrets_are_not_copied(model):
    (history,) = event_models(tracks_model=model)
    copied = {f.name for f in history._meta.concrete_fields}
    assert "pgh_context" in copied and "pgh_obj" in copied
    assert copied & NEVER_IN_HISTORY.get(model, set()) == set()
    tracked = {f.name for f in model._meta.concrete_fields}
    assert tracked - NEVER_IN_HISTORY.get(model, set()) <= copied


def tpp_post(**overrides) -> dict:
    data = {
        "smt_enabled": "on",
        "smt_api_url": "http://127.0.0.1:8100/smt",
        "smt_username": "REP1",
        "smt_password": "first-Secret-42",
        "smt_duns_number": "123456789",
        "smt_requester_type": "RES",
        "smt_certificate_name": "",
        "smt_auth_mode": "token",
        "esg_api_url": "",
        "esg_api_key": "esg-Secret-77",
        "derms_api_url": "",
        "derms_api_key": "",
    }
    data.update(overrides)
    return data


def test_admin_reads_who_changed_what_without_secrets(client):
    admin = staff("Admin", username="auditor-admin")
    client.force_login(admin)
    url = "/configuration/third-party-providers/"
    assert client.post(url, tpp_post()).status_code == 302
    assert (
        client.post(url, tpp_post(smt_username="REP2", smt_password="second-Secret-43")).status_code
        == 302
    )
    provider = ThirdPartyProvider.load()

    page = client.get(f"/configuration/history/opsadmin/thirdpartyprovider/{provider.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "auditor-admin" in body
    assert url in body
    assert "<del>REP1</del> → <ins>REP2</ins>" in body
    for secret in ("first-Secret-42", "second-Secret-43", "esg-Secret-77", "enc1:"):
        assert secret not in body
    # Not in the history table either, not even as ciphertext.
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(h)::text FROM opsadmin_thirdpartyproviderhistory h")
        dumped = " ".join(r[0] for r in cursor.fetchall())
    assert "REP2" in dumped
    assert "Secret" not in dumped and "enc1:" not in dumped


def test_changes_made_without_a_request_are_recorded_as_system(client):
    utility = Utility.objects.create(code="aep-n", name="AEP North", esiid_prefixes=["1020404"])
    utility.name = "AEP Texas North"
    utility.save()
    client.force_login(staff("Admin"))
    body = client.get(f"/configuration/history/opsadmin/utility/{utility.pk}/").content.decode()
    assert "<del>AEP North</del> → <ins>AEP Texas North</ins>" in body
    assert body.count("system (no signed-in user)") == 2  # insert + update


def test_api_key_revocation_is_recorded_with_the_admin(client):
    admin = staff("Admin", username="key-admin")
    partner = Partner.objects.create(name="Acme TPV", code="acme")
    key = PartnerApiKey.objects.create(partner=partner, prefix="ak_1234", key_hash="0" * 64)
    client.force_login(admin)
    import pghistory
    from django.utils import timezone

    with pghistory.context(user=admin.pk, url="/partners/keys/revoke/"):
        PartnerApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now(), revoked_by=admin)
    body = client.get(f"/configuration/history/partners/partnerapikey/{key.pk}/").content.decode()
    assert "key-admin" in body and "<strong>Revoked at</strong>" in body
    assert "0" * 64 not in body


@pytest.mark.parametrize("group", ["Agent", "Ops"])
def test_only_admin_reads_history(client, group):
    utility = Utility.objects.create(code="tnmp-x", name="TNMP X", esiid_prefixes=["1040051"])
    client.force_login(staff(group))
    assert client.get(f"/configuration/history/opsadmin/utility/{utility.pk}/").status_code == 403


def test_untracked_or_unknown_models_are_404(client):
    client.force_login(staff("Admin"))
    admin_pk = client.session["_auth_user_id"]
    assert client.get(f"/configuration/history/opsadmin/user/{admin_pk}/").status_code == 404
    assert client.get("/configuration/history/nope/nothing/1/").status_code == 404
    assert client.get("/configuration/history/opsadmin/utility/999999/").status_code == 404
