from __future__ import annotations

import pytest

from opsadmin.models import ThirdPartyProvider


@pytest.fixture
def esg_url(simulators_url, db):
    """ThirdPartyProvider pointed at the ESG simulator (over real HTTP)."""
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{simulators_url}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    return f"{simulators_url}/esg"


@pytest.fixture(autouse=True)
def _fresh_shared_client():
    """Each test starts without the process-wide ESG client (its configuration may differ)."""
    from billing.adapters.esg import shared_esg_client_reset

    shared_esg_client_reset()
    yield
    shared_esg_client_reset()
