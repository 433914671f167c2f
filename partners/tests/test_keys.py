"""Partner API keys: the Ops screen and manage.py create_partner_key."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from partners.models import Partner, PartnerApiKey

pytestmark = pytest.mark.django_db


def test_ops_creates_key_shown_once_stored_hashed(ops_client, ops_user):
    response = ops_client.post("/partners/keys/", {"partner": "Zeta Energy Sales", "label": "prod"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = PartnerApiKey.objects.get()
    raw = response.context["new_key"]["raw"]
    assert raw.startswith("opk_") and len(raw) > 40
    assert raw in response.content.decode()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (key.prefix, key.label, key.key_hash)
    assert (key.partner.name, key.partner.code, key.created_by) == (
        "Zeta Energy Sales",
        "zeta-energy-sales",
        ops_user,
    )
    listing = ops_client.get("/partners/keys/").content.decode()
    assert raw not in listing  # never shown again
    assert key.prefix in listing


def test_ops_revokes_key(ops_client):
    ops_client.post("/partners/keys/", {"partner": "Zeta", "label": ""})
    key = PartnerApiKey.objects.get()
    response = ops_client.post(f"/partners/keys/{key.pk}/revoke/", {"confirmed": "yes"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.is_active


def test_agent_cannot_manage_keys(client, agent_user):
    client.force_login(agent_user)
    assert client.get("/partners/keys/").status_code == 403
    assert client.post("/partners/keys/", {"partner": "X"}).status_code == 403
    assert PartnerApiKey.objects.count() == 0


def test_management_command_creates_partner_and_prints_key():
    out, err = StringIO(), StringIO()
    call_command("create_partner_key", "Delta Shopping", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert "Created partner Delta Shopping (delta-shopping)." in err.getvalue()
    key = PartnerApiKey.objects.get()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    out2 = StringIO()
    call_command("create_partner_key", "delta shopping", stdout=out2, stderr=StringIO())
    assert Partner.objects.count() == 1  # the same partner, a second key
    assert PartnerApiKey.objects.count() == 2
    assert out2.getvalue().strip() != raw
