"""Queries per Quick Enrollment step are bounded (an agent waits on every one of them).

Each bound is the count measured for the step with htmx, the way an agent's browser posts,
on a fresh draft; a change that adds a query per step has to raise it here on purpose.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollments.models import Enrollment, EnrollmentDraft
from enrollments.tests.test_quick import HX, details

# step -> at most this many queries for its request
BOUNDS = {
    "open": 9,  # session + user + 2 permission reads, drafts left, types, session write
    "search": 12,
    "options": 14,
    "products": 9,
    "customer": 7,
    "details": 12,
    "review": 28,  # the submit: validation reads, 8 inserts, the login, its transaction
}


def _steps(agent):
    return [
        ("open", "GET", None, None),
        ("search", "POST", "start", {"zip_code": "77002", "customer_type": "residential"}),
        ("options", "POST", "options", {"utility": "centerpoint", "consent_method": "phone"}),
        ("products", "POST", "products", {"plan": "SAVER12"}),
        ("customer", "POST", "customer", {"customer": "new"}),
        ("details", "POST", "details", details()),
        (
            "review",
            "POST",
            "review",
            {"ack_efl": "on", "ack_tos": "on", "ack_yrac": "on", "ack_rescission": "on"},
        ),
    ]


def _run(client, agent) -> dict[str, int]:
    counts: dict[str, int] = {}
    draft = None
    for name, method, target, data in _steps(agent):
        if method == "GET" or target == "start":
            url = reverse("enrollments:quick_start")
        else:
            url = reverse("enrollments:quick_step", kwargs={"token": draft.token, "step": target})
        if name == "review":
            data = {**data, "idempotency_token": str(draft.token)}
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(url) if method == "GET" else client.post(url, data, **HX)
        assert resp.status_code == 200, (name, resp.status_code)
        counts[name] = len(ctx.captured_queries)
        if target == "start":
            draft = EnrollmentDraft.objects.get(created_by=agent)
    return counts


@pytest.mark.django_db(transaction=True)
def test_every_step_stays_within_its_query_bound(agent_client, agent, catalogue):
    counts = _run(agent_client, agent)
    print("queries per step:", counts)
    assert Enrollment.objects.filter(created_by=agent).count() == 1  # the flow really ran
    over = {s: (n, BOUNDS[s]) for s, n in counts.items() if n > BOUNDS[s]}
    assert not over, f"steps over their query bound (count, bound): {over}"


@pytest.mark.parametrize("name", list(BOUNDS))
def test_each_step_with_django_assert_max_num_queries(
    name, agent_client, agent, catalogue, django_assert_max_num_queries
):
    draft = None
    for step_name, method, target, data in _steps(agent):
        if method == "GET" or target == "start":
            url = reverse("enrollments:quick_start")
        else:
            url = reverse("enrollments:quick_step", kwargs={"token": draft.token, "step": target})
        if step_name == "review":
            data = {**data, "idempotency_token": str(draft.token)}

        def send(url=url, method=method, data=data):
            return agent_client.get(url) if method == "GET" else agent_client.post(url, data, **HX)

        if step_name == name:
            with django_assert_max_num_queries(BOUNDS[name]):
                resp = send()
            assert resp.status_code == 200
            return
        assert send().status_code == 200
        if target == "start":
            draft = EnrollmentDraft.objects.get(created_by=agent)
