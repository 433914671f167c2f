from __future__ import annotations

import pytest

from enrollments.tests.factories import make_catalogue, make_staff


@pytest.fixture
def catalogue(db):
    return make_catalogue()


@pytest.fixture
def agent(db):
    return make_staff("agent1", "Agent")


@pytest.fixture
def ops(db):
    return make_staff("ops1", "Ops")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client
