"""A real Celery worker on the real Redis runs a task and returns its result."""

from __future__ import annotations

import pytest

from opsadmin.models import TaskHeartbeat
from opsadmin.tasks import heartbeat, ping


@pytest.mark.worker
def test_task_round_trip_through_a_real_worker(celery_worker):
    assert ping.delay(41).get(timeout=20) == 42
    assert heartbeat.delay().get(timeout=20) == "ok"
    assert TaskHeartbeat.objects.get(name="beat").last_seen is not None
