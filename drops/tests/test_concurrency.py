"""Two simultaneous submits of the same form make one drop request and one outbox row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from drops.models import DropRequest
from drops.tests import factories as f
from drops.tests.factories import drop_rows


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_makes_one_request():
    e = f.active_enrollment()
    url = f"/myaccount/manage/cancel/{e.service_account_id}/cancel/form/"
    data = {"requested_date": (timezone.localdate() + timedelta(days=10)).isoformat()}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit():
        client = Client()
        client.force_login(e.customer.user)
        barrier.wait()
        try:
            statuses.append(client.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [302, 302]
    assert DropRequest.objects.count() == 1
    assert drop_rows().count() == 1
