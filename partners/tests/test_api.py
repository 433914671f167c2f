"""Enrollment API: keys, scoping, create + idempotency, status, list, cancel, problems, 429."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from billing.models import BillingRequest
from enrollments.models import Enrollment
from opsadmin.management import journeys as lifecycle
from partners.models import PartnerEnrollment
from partners.services import api_key_revoke
from partners.tests.conftest import esiid

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def body(n: int = 1, **overrides) -> dict:
    data = {
        "partner_reference": f"R-{n}",
        "zip_code": "75201",
        "utility_code": "oncor",
        "customer_type_code": "residential",
        "plan_code": "SAVER12",
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": f"ana{n}@example.com",
        "esiid": esiid(n),
        "address_line1": f"{n} Elm St",
        "city": "Dallas",
    }
    data.update(overrides)
    return data


def call(client, method: str, path: str, key: str | None, data=None, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if key:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    fn = getattr(client, method)
    if data is not None:
        return fn(f"/api/v1{path}", data=json.dumps(data), content_type="application/json", **extra)
    return fn(f"/api/v1{path}", **extra)


def test_no_or_bad_key_is_401_problem(client, market, key_a):
    for key in (None, "opk_wrong"):
        response = call(client, "get", "/enrollments", key)
        assert response.status_code == 401
        assert response["Content-Type"] == PROBLEM
        assert response["WWW-Authenticate"] == 'Bearer realm="opsadmin"'
        assert response.json() == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "Send a valid API key as 'Authorization: Bearer <key>'.",
        }


def test_revoked_key_stops_working(client, market, partner_a):
    from partners.services import api_key_create

    key, raw = api_key_create(partner=partner_a)
    assert call(client, "get", "/enrollments", raw).status_code == 200
    api_key_revoke(key=key)
    assert call(client, "get", "/enrollments", raw).status_code == 401


def test_create_then_status_then_other_partner_gets_404(client, market, partner_a, key_a, key_b):
    response = call(client, "post", "/enrollments", key_a, body(1, plan_code="COMM36"))
    assert response.status_code == 201, response.content
    created = response.json()
    enrollment = Enrollment.objects.get()
    assert created["id"] == enrollment.pk
    assert response["Location"] == f"/api/v1/enrollments/{enrollment.pk}"
    assert (created["status"], created["channel"], created["plan_code"]) == (
        "submitted",
        "api",
        "COMM36",  # non-web plans are sold through the API
    )
    assert created["partner_reference"] == "R-1"
    assert created["billing_account_number"] is None
    assert created["rejection_reason"] is None
    assert created["cancellable"] is True
    assert PartnerEnrollment.objects.get().partner == partner_a
    assert (
        BillingRequest.objects.filter(kind="create_prospect", subject_id=enrollment.pk).count() == 1
    )

    mine = call(client, "get", f"/enrollments/{enrollment.pk}", key_a)
    assert mine.status_code == 200
    assert mine.json()["id"] == enrollment.pk

    theirs = call(client, "get", f"/enrollments/{enrollment.pk}", key_b)
    assert theirs.status_code == 404
    assert theirs["Content-Type"] == PROBLEM
    assert theirs.json()["detail"] == "No such enrollment."
    assert (
        call(client, "post", f"/enrollments/{enrollment.pk}/cancel", key_b, {}).status_code == 404
    )
    assert call(client, "get", "/enrollments", key_b).json()["count"] == 0
    enrollment.refresh_from_db()
    assert enrollment.status == "submitted"


def test_status_shows_rejection_reason_and_billing_account_number(client, market, key_a):
    first = call(client, "post", "/enrollments", key_a, body(1)).json()
    second = call(client, "post", "/enrollments", key_a, body(2)).json()
    # the billing system's answers, recorded as the outbox and the status poll record them
    rejected = lifecycle.acknowledge(Enrollment.objects.get(pk=first["id"]))
    lifecycle.answer(rejected, "rejected", reason="ESIID not found at ERCOT")
    pending = lifecycle.acknowledge(Enrollment.objects.get(pk=second["id"]))
    one = call(client, "get", f"/enrollments/{first['id']}", key_a).json()
    assert (one["status"], one["rejection_reason"], one["cancellable"]) == (
        "rejected",
        "ESIID not found at ERCOT",
        False,
    )
    two = call(client, "get", f"/enrollments/{second['id']}", key_a).json()
    assert two["billing_account_number"] is None  # not yet accepted
    lifecycle.answer(pending, "accepted", ban="BA-1001")
    two = call(client, "get", f"/enrollments/{second['id']}", key_a).json()
    assert two["billing_account_number"] == "BA-1001"


def test_business_rule_error_is_422_problem_with_field(client, market, key_a):
    response = call(client, "post", "/enrollments", key_a, body(1, zip_code="99999"))
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:opsadmin:problem:invalid",
        "title": "Unprocessable content",
        "status": 422,
        "detail": "Oops! We don't service your area!",
        "errors": [{"field": "zip_code", "message": "Oops! We don't service your area!"}],
    }
    assert Enrollment.objects.count() == 0


def test_schema_validation_error_is_422_problem(client, market, key_a):
    response = call(client, "post", "/enrollments", key_a, body(1, zip_code="7520", language="fr"))
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["detail"] == "The request is not valid."
    assert sorted(e["field"] for e in problem["errors"]) == ["payload.language", "payload.zip_code"]
    bad_json = client.post(
        "/api/v1/enrollments",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )
    assert bad_json.status_code in (400, 422)
    assert bad_json["Content-Type"] == PROBLEM


def test_nul_and_overlong_values_are_422_not_500(client, market, key_a):
    response = call(client, "post", "/enrollments", key_a, body(1, first_name="A\x00B"))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "first_name", "message": "Remove control characters from this value."}
    ]
    response = call(client, "post", "/enrollments", key_a, body(1, city="x" * 61))
    assert response.status_code == 422


def test_idempotency_key(client, market, key_a, key_b):
    first = call(client, "post", "/enrollments", key_a, body(1), **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    again = call(client, "post", "/enrollments", key_a, body(1), **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Enrollment.objects.count() == 1
    other = call(client, "post", "/enrollments", key_a, body(2), **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other["Content-Type"] == PROBLEM
    assert other.json()["detail"] == "This Idempotency-Key was used with a different request body."
    assert Enrollment.objects.count() == 1
    # keys are per partner: partner B's "k-1" is its own
    b = call(client, "post", "/enrollments", key_b, body(3), **{"Idempotency-Key": "k-1"})
    assert b.status_code == 201
    assert Enrollment.objects.count() == 2


def test_list_paginates_and_filters(client, market, key_a):
    ids = [call(client, "post", "/enrollments", key_a, body(n)).json()["id"] for n in range(1, 6)]
    lifecycle.acknowledge(Enrollment.objects.get(pk=ids[0]))
    page1 = call(client, "get", "/enrollments?page_size=2", key_a).json()
    assert (page1["count"], page1["page"], page1["page_size"]) == (5, 1, 2)
    assert [e["id"] for e in page1["items"]] == [ids[4], ids[3]]
    page3 = call(client, "get", "/enrollments?page_size=2&page=3", key_a).json()
    assert [e["id"] for e in page3["items"]] == [ids[0]]
    pending = call(client, "get", "/enrollments?status=pending", key_a).json()
    assert [e["id"] for e in pending["items"]] == [ids[0]]
    today = timezone.localdate()
    assert call(client, "get", f"/enrollments?created_from={today}", key_a).json()["count"] == 5
    tomorrow = today + timedelta(days=1)
    assert call(client, "get", f"/enrollments?created_from={tomorrow}", key_a).json()["count"] == 0
    yesterday = today - timedelta(days=1)
    assert call(client, "get", f"/enrollments?created_to={yesterday}", key_a).json()["count"] == 0
    bad = call(client, "get", "/enrollments?status=bogus", key_a)
    assert (bad.status_code, bad["Content-Type"]) == (422, PROBLEM)


def test_cancel_within_rescission(client, market, key_a):
    created = call(client, "post", "/enrollments", key_a, body(1)).json()
    response = call(
        client, "post", f"/enrollments/{created['id']}/cancel", key_a, {"reason": "changed mind"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert BillingRequest.objects.filter(kind="cancel", subject_id=created["id"]).count() == 1
    again = call(client, "post", f"/enrollments/{created['id']}/cancel", key_a, {})
    assert again.status_code == 409
    assert again.json()["detail"] == "An enrollment that is cancelled cannot be cancelled."

    second = call(client, "post", "/enrollments", key_a, body(2)).json()
    lifecycle.answer(lifecycle.acknowledge(Enrollment.objects.get(pk=second["id"])), "accepted")
    response = call(client, "post", f"/enrollments/{second['id']}/cancel", key_a, {})
    assert response.json()["status"] == "rescinded"


def test_cancel_after_rescission_window_is_409(client, market, key_a):
    created = call(client, "post", "/enrollments", key_a, body(1)).json()
    # Submitted Friday 2026-07-02; Friday July 3 is the observed Independence Day holiday,
    # so the 3 federal business days are Mon 6, Tue 7, Wed 8.
    Enrollment.objects.filter(pk=created["id"]).update(
        submitted_at=timezone.make_aware(timezone.datetime(2026, 7, 2, 10, 0)),
        rescission_deadline=None,
    )
    from enrollments.services import enrollment_rescission_deadline

    assert enrollment_rescission_deadline(Enrollment.objects.get()) == date(2026, 7, 8)
    response = call(client, "post", f"/enrollments/{created['id']}/cancel", key_a, {})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("The rescission period ended on 2026-07-08")
    assert Enrollment.objects.get().status == "submitted"
    assert BillingRequest.objects.filter(kind="cancel").count() == 0


def test_plans_service_area_esiid(client, market, key_a):
    plans = call(client, "get", "/plans?zip_code=75201&customer_type_code=residential", key_a)
    assert plans.status_code == 200
    assert [(p["code"], p["is_web_plan"]) for p in plans.json()] == [
        ("COMM36", False),
        ("SAVER12", True),
    ]
    assert plans.json()[1]["energy_charge_cents"] == "12.9000"
    unknown = call(client, "get", "/plans?zip_code=75201&customer_type_code=nope", key_a)
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (
        422,
        "customer_type_code",
    )
    assert (
        call(client, "get", "/plans?zip_code=99999&customer_type_code=residential", key_a).json()
        == []
    )

    area = call(client, "get", "/service-areas/75201", key_a).json()
    assert area == {
        "zip_code": "75201",
        "served": True,
        "utilities": [{"code": "oncor", "name": "Oncor", "market": "ERCOT"}],
    }
    assert call(client, "get", "/service-areas/99999", key_a).json()["served"] is False

    ok = call(client, "get", f"/esiids/{esiid(5)}?utility_code=oncor", key_a).json()
    assert (ok["valid"], ok["available"]) == (True, True)
    wrong = call(client, "get", "/esiids/10089010000000001?utility_code=oncor", key_a).json()
    assert wrong["valid"] is False
    assert wrong["message"].startswith("This ESIID does not belong to Oncor")
    call(client, "post", "/enrollments", key_a, body(5))
    taken = call(client, "get", f"/esiids/{esiid(5)}", key_a).json()
    assert (taken["valid"], taken["available"], taken["message"]) == (
        True,
        False,
        "This ESIID already has a pending or active enrollment.",
    )


def test_rate_limit_429(client, market, key_a, key_b, settings, monkeypatch):
    settings.PARTNERS_API_RATE_LIMIT = 3
    import partners.api

    # one fixed instant, so the one-minute window cannot roll over mid-test
    monkeypatch.setattr(partners.api, "_clock", lambda: 1_800_000_030.0)
    codes = [call(client, "get", "/service-areas/75201", key_a).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = call(client, "get", "/service-areas/75201", key_a)
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "30"
    assert call(client, "get", "/service-areas/75201", key_b).status_code == 200  # per key


def test_unknown_api_path_is_problem_404(client):
    response = client.get("/api/v1/nothing/here")
    assert (response.status_code, response["Content-Type"]) == (404, PROBLEM)


def test_openapi_and_docs(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/v1/plans",
        "/api/v1/service-areas/{zip_code}",
        "/api/v1/esiids/{esiid}",
        "/api/v1/enrollments",
        "/api/v1/enrollments/{enrollment_id}",
        "/api/v1/enrollments/{enrollment_id}/cancel",
        "/api/v1/programs",
        "/api/v1/program-enrollments",
        "/api/v1/program-enrollments/{program_enrollment_id}",
        "/api/v1/program-enrollments/{program_enrollment_id}/unenroll",
    }
    program_create = schema["paths"]["/api/v1/program-enrollments"]["post"]
    assert list(program_create["responses"]["404"]["content"]) == [PROBLEM]
    assert program_create["parameters"][0]["name"] == "Idempotency-Key"
    create = schema["paths"]["/api/v1/enrollments"]["post"]["responses"]
    assert list(create["409"]["content"]) == [PROBLEM]
    assert list(create["201"]["content"]) == ["application/json"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
