"""Configuration screens save and reload their values; secrets are never shown back."""

from __future__ import annotations

import pytest

from opsadmin.models import CustomerType, SystemSetup, ThirdPartyProvider, UsageTierSet, Utility
from opsadmin.tests.factories import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(staff("Admin"))
    return client


def test_system_setup_saves_and_reloads(admin_client):
    tiers = UsageTierSet.objects.get(state="TX")
    response = admin_client.post(
        "/configuration/system-setup/",
        {
            "setup-show_etf_message_on_drops": "",  # unchecked
            "setup-drop_days_in_advance": "5",
            "setup-drop_max_days_ahead": "60",
            "setup-abandoned_signup_hours": "48",
            f"tiers-{tiers.pk}-state": "TX",
            f"tiers-{tiers.pk}-tiers_kwh": "500, 1000, 1500",
        },
    )
    assert response.status_code == 302
    setup = SystemSetup.load()
    assert (
        setup.show_etf_message_on_drops,
        setup.drop_days_in_advance,
        setup.abandoned_signup_hours,
    ) == (False, 5, 48)
    assert UsageTierSet.objects.get(state="TX").tiers_kwh == [500, 1000, 1500]
    page = admin_client.get("/configuration/system-setup/").content.decode()
    assert 'value="500, 1000, 1500"' in page


def test_system_setup_refuses_bad_tiers_and_changes_nothing(admin_client):
    tiers = UsageTierSet.objects.get(state="TX")
    response = admin_client.post(
        "/configuration/system-setup/",
        {
            "setup-drop_days_in_advance": "5",
            "setup-drop_max_days_ahead": "60",
            "setup-abandoned_signup_hours": "48",
            f"tiers-{tiers.pk}-state": "TX",
            f"tiers-{tiers.pk}-tiers_kwh": "1000, 500",
        },
    )
    assert response.status_code == 422
    assert "strictly ascending" in response.content.decode()
    assert UsageTierSet.objects.get(state="TX").tiers_kwh == [500, 1000, 2000]
    assert SystemSetup.load().drop_days_in_advance == 3


def _tpp_post(**overrides):
    data = {
        "smt_enabled": "on",
        "smt_api_url": "http://127.0.0.1:8100/smt",
        "smt_username": "REP1",
        "smt_password": "s3cret-smt",
        "smt_duns_number": "123456789",
        "smt_requester_type": "RES",
        "smt_certificate_name": "",
        "smt_auth_mode": "token",
        "esg_api_url": "",
        "esg_api_key": "",
        "derms_api_url": "",
        "derms_api_key": "",
    }
    data.update(overrides)
    return data


def test_third_party_providers_secret_is_write_only(admin_client):
    assert (
        admin_client.post("/configuration/third-party-providers/", _tpp_post()).status_code == 302
    )
    provider = ThirdPartyProvider.load()
    assert provider.smt_enabled and provider.smt_password == "s3cret-smt"
    page = admin_client.get("/configuration/third-party-providers/").content.decode()
    assert "s3cret-smt" not in page
    assert "Set. Leave blank to keep it." in page
    # Saving again with a blank password keeps the stored one.
    assert (
        admin_client.post(
            "/configuration/third-party-providers/", _tpp_post(smt_password="", smt_username="REP2")
        ).status_code
        == 302
    )
    provider = ThirdPartyProvider.load()
    assert (provider.smt_username, provider.smt_password) == ("REP2", "s3cret-smt")


def test_third_party_providers_refuses_hosts_outside_the_allowlist(admin_client):
    response = admin_client.post(
        "/configuration/third-party-providers/",
        _tpp_post(smt_api_url="http://169.254.169.254/latest/"),
    )
    assert response.status_code == 422
    assert "not in OUTBOUND_ALLOWED_HOSTS" in response.content.decode()
    assert ThirdPartyProvider.load().smt_api_url == ""


def test_utility_manager_saves_prefixes_and_zip_codes(admin_client):
    response = admin_client.post(
        "/configuration/utilities/new/",
        {
            "code": "oncor",
            "name": "Oncor",
            "market": "ERCOT",
            "state": "TX",
            "esiid_prefixes": "1044372, 1017699",
            "meter_number_label": "Meter Number",
            "billing_system": "esg_rest",
            "price_to_compare_cents": "",
            "active": "on",
            "zip_codes": "75201 75202,75201",
        },
    )
    assert response.status_code == 302
    oncor = Utility.objects.get(code="oncor")
    assert oncor.esiid_prefixes == ["1044372", "1017699"]
    assert sorted(oncor.service_areas.values_list("zip_code", flat=True)) == ["75201", "75202"]
    bad = admin_client.post(
        f"/configuration/utilities/{oncor.pk}/",
        {
            "code": "oncor",
            "name": "Oncor",
            "market": "ERCOT",
            "state": "TX",
            "esiid_prefixes": "99",
            "meter_number_label": "Meter",
            "billing_system": "esg_rest",
            "zip_codes": "7520",
        },
    )
    assert bad.status_code == 422
    assert Utility.objects.get(code="oncor").esiid_prefixes == ["1044372", "1017699"]


def test_customer_type_drop_visibility_saves(admin_client):
    response = admin_client.post(
        "/configuration/customer-types/new/",
        {"code": "smb", "name": "Small business", "active": "on"},
    )
    assert response.status_code == 302
    assert CustomerType.objects.get(code="smb").drop_visible_in_myaccount is False


def test_agent_cannot_change_configuration(client):
    client.force_login(staff("Agent"))
    assert client.get("/configuration/system-setup/").status_code == 403
    response = client.post("/configuration/customer-types/new/", {"code": "x", "name": "X"})
    assert response.status_code == 403
    assert not CustomerType.objects.filter(code="x").exists()
