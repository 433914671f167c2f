"""Find an enrollment (staff) and the customer page: what the box matches, the filters,
pages, permissions, bounded queries and the indexes the searches use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollments.models import Customer, Enrollment
from enrollments.search import PAGE_SIZE, enrollment_search
from enrollments.tests.factories import make_staff
from opsadmin import clock
from opsadmin.management import journeys
from opsadmin.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(catalogue):
    """Three customers enrolled through the product's own submit, on different days."""
    cnp, oncor = catalogue["cnp"], catalogue["oncor"]
    plan = catalogue["plans"]["SAVER12"]
    today = clock.today()
    maria = journeys.submit(
        utility=cnp,
        plan=plan,
        esiid="1008901000000000000101",
        on=today - timedelta(days=1),
        first_name="Maria",
        last_name="Lopez",
        email="maria.lopez@example.com",
        phone="(713) 555-0142",
    )
    journeys.acknowledge(maria)
    journeys.answer(maria, "accepted", ban="BA-7781")
    jon = journeys.submit(
        utility=oncor,
        plan=plan,
        esiid="10443720000000201",
        zip_code="75201",
        on=today - timedelta(days=10),
        channel=Enrollment.Channel.WIZARD,
        first_name="Jon",
        last_name="Lopezcano",
        email="jon@example.net",
        phone="+1 214.555.0199",
    )
    ana = journeys.submit(
        utility=cnp,
        plan=plan,
        esiid="1008901000000000000102",
        on=today,
        first_name="Ana",
        last_name="Smith",
        email="ana@example.org",
        phone="7135550100",
    )
    return {"maria": maria, "jon": jon, "ana": ana}


def pks(qs) -> list[int]:
    return [e.pk for e in qs]


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("1008901000000000000101", ["maria"]),  # full ESIID
        ("10089010000000000001", ["ana", "maria"]),  # ESIID prefix
        ("713-555-0142", ["maria"]),  # phone as stored
        ("7135550142", ["maria"]),  # digits only
        ("+1 (713) 555 0142", ["maria"]),  # with the country code
        ("555-0199", ["jon"]),  # the last 7 digits
        ("2145550199", ["jon"]),  # a phone stored with +1 and dots
        ("BA-7781", ["maria"]),  # billing account number
        ("maria.lopez@example.com", ["maria"]),  # email
        ("MARIA.LOPEZ@", ["maria"]),  # email prefix, any case
        ("lopez", ["maria", "jon"]),  # last-name prefix: Lopez and Lopezcano
        ("Maria Lopez", ["maria"]),
        ("lopez, maria", ["maria"]),
        ("ana", ["ana"]),  # first name
        ("nobody", []),
        ("", ["ana", "maria", "jon"]),  # no text: everything, newest first
    ],
)
def test_the_box_matches_each_identifier(people, query, who):
    expected = [people[name].pk for name in who]
    assert sorted(pks(enrollment_search(query=query))) == sorted(expected)
    if query == "":
        assert pks(enrollment_search(query=query)) == expected


def test_filters_status_channel_and_market_days(people):
    maria, jon, ana = people["maria"], people["jon"], people["ana"]
    today = clock.today()
    assert pks(enrollment_search(status="accepted")) == [maria.pk]
    assert pks(enrollment_search(channel="wizard")) == [jon.pk]
    assert pks(enrollment_search(query="lopez", channel="quick")) == [maria.pk]
    yesterday = today - timedelta(days=1)
    assert pks(enrollment_search(submitted_from=yesterday, submitted_to=yesterday)) == [maria.pk]
    assert pks(enrollment_search(submitted_from=yesterday)) == [ana.pk, maria.pk]
    assert pks(enrollment_search(submitted_to=today - timedelta(days=2))) == [jon.pk]


def test_list_page_searches_and_links_each_row_to_details(agent_client, people):
    maria = people["maria"]
    response = agent_client.get("/enrollments/", {"q": "713 555 0142"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 enrollment matches." in body
    assert f'href="/enrollments/{maria.pk}/"' in body
    assert f'href="/enrollments/{people["ana"].pk}/"' not in body
    assert "<h1>Find an enrollment</h1>" in body

    # htmx: only the results partial
    partial = agent_client.get("/enrollments/", {"q": "lopez"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert text.lstrip().startswith('<div id="results">')
    assert "2 enrollments match." in text and "<h1>" not in text

    # a bad date range says so and still lists (filters ignored)
    bad = agent_client.get(
        "/enrollments/", {"submitted_from": "2026-02-02", "submitted_to": "2026-02-01"}
    )
    assert bad.status_code == 200
    assert "The end date is before the start date." in bad.content.decode()


def test_pages_keep_the_filters_and_queries_are_bounded(
    agent_client, catalogue, django_assert_max_num_queries
):
    plan = catalogue["plans"]["SAVER12"]
    for _ in range(PAGE_SIZE + 5):
        journeys.submit(
            utility=catalogue["cnp"], plan=plan, last_name="Garcia", phone="713-555-0100"
        )
    # session, user, 2 permission reads, the count, the page's ids, its rows; the session's
    # save (3 with its savepoint) when the middleware touches it. Not one query per row.
    with django_assert_max_num_queries(10) as ctx:
        first = agent_client.get("/enrollments/", {"q": "garcia", "channel": "quick"})
    enrollment_reads = [q for q in ctx.captured_queries if "enrollments_" in q["sql"]]
    # COUNT(*), the page's ids (no join for the rows a deep page skips), its rows with joins
    assert len(enrollment_reads) == 3
    body = first.content.decode()
    assert "30 enrollments match, page 1 of 2." in body
    assert len(re.findall(r'<a href="/enrollments/\d+/">Enrollment', body)) == PAGE_SIZE
    assert 'href="?q=garcia&amp;channel=quick&amp;page=2"' in body
    with django_assert_max_num_queries(10):
        second = agent_client.get("/enrollments/", {"q": "garcia", "channel": "quick", "page": 2})
    assert len(re.findall(r'<a href="/enrollments/\d+/">Enrollment', second.content.decode())) == 5


def test_permission_and_menu(client, people, db):
    customer = User.objects.create_user(username="c@example.com", password="x", kind="customer")
    client.force_login(customer)
    assert client.get("/enrollments/").status_code == 403
    assert client.get(f"/enrollments/customers/{people['maria'].customer_id}/").status_code == 403
    nobody = make_staff("nobody", "Nobody")  # staff without any group permission
    client.force_login(nobody)
    assert client.get("/enrollments/").status_code == 403
    assert client.get(f"/enrollments/customers/{people['maria'].customer_id}/").status_code == 403
    client.force_login(make_staff("agent9", "Agent"))
    home = client.get("/").content.decode()
    assert '<a href="/enrollments/">Find an enrollment</a>' in home


def test_customer_page_lists_every_account_and_links_back(
    agent_client, catalogue, people, django_assert_max_num_queries
):
    maria = people["maria"]
    second = journeys.submit(
        utility=catalogue["cnp"],
        plan=catalogue["plans"]["FIXED24"],
        customer=maria.customer,
        esiid="1008901000000000000103",
        address_line1="9 Oak St",
    )
    url = f"/enrollments/customers/{maria.customer_id}/"
    with django_assert_max_num_queries(10) as ctx:
        response = agent_client.get(url)
    # the customer, their enrollments, their premises: not one query per row
    assert len([q for q in ctx.captured_queries if "enrollments_" in q["sql"]]) == 3
    assert response.status_code == 200
    body = response.content.decode()
    for e in (maria, second):
        assert f'href="/enrollments/{e.pk}/"' in body
        assert e.service_account.esiid in body
    assert f'href="/enrollments/{people["jon"].pk}/"' not in body
    assert "maria.lopez@example.com" in body and "(713) 555-0142" in body
    assert 'href="tel:7135550142"' in body
    assert "BA-7781" in body
    assert "9 Oak St" in body
    # Enrollment Details links to the customer page
    details = agent_client.get(f"/enrollments/{maria.pk}/").content.decode()
    assert f'href="{url}"' in details
    assert agent_client.get("/enrollments/customers/999999/").status_code == 404


def test_phone_digits_column_follows_the_phone(people):
    customer = Customer.objects.get(pk=people["jon"].customer_id)
    assert customer.phone_digits == "2145550199"


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    return plan


@pytest.mark.parametrize(
    ("model", "lookup", "index"),
    [
        (Enrollment, {"esiid__startswith": "10089010000000000001"}, "enrollment_esiid_prefix"),
        (Customer, {"phone_digits": "7135550142"}, "customer_phone_digits"),
        (Customer, {"email__istartswith": "maria.lopez@"}, "customer_email_upper"),
        (Customer, {"last_name__istartswith": "lopez"}, "customer_last_upper"),
        (Customer, {"first_name__istartswith": "maria"}, "customer_first_upper"),
    ],
)
def test_each_lookup_the_box_uses_has_an_index(people, model, lookup, index):
    """The lookups ``search_condition`` builds can be answered from an index (seq scans
    disabled to ask whether one exists: on a few rows a scan is rightly preferred)."""
    sql, params = model.objects.filter(**lookup).query.sql_with_params()
    plan = _plan(sql, params)
    assert index in plan, plan


def test_with_captured_queries_the_search_is_one_statement(people):
    with CaptureQueriesContext(connection) as ctx:
        list(enrollment_search(query="Maria Lopez"))
    assert len(ctx.captured_queries) == 1


def test_quick_enrollment_done_screen_links_to_the_enrollment_and_the_customer(
    agent_client, catalogue
):
    from django.urls import reverse

    from enrollments.models import EnrollmentDraft
    from enrollments.tests.test_quick import run_to_review, submit

    draft = run_to_review(agent_client)
    submit(agent_client, draft)
    draft = EnrollmentDraft.objects.get(pk=draft.pk)
    enrollment = draft.enrollment
    assert enrollment is not None
    done = agent_client.get(reverse("enrollments:quick_page", kwargs={"token": draft.token}))
    body = done.content.decode()
    assert f'<a href="/enrollments/{enrollment.pk}/">Open the enrollment details</a>' in body
    assert f'<a href="/enrollments/customers/{enrollment.customer_id}/">Open the customer' in body


def test_details_link_the_customer_page_only_for_who_may_open_it(client, people):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user(username="viewer", password="x", kind=User.Kind.STAFF)
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="enrollments", codename="view_enrollment")
    )
    client.force_login(viewer)
    maria = people["maria"]
    details = client.get(f"/enrollments/{maria.pk}/").content.decode()
    assert "Maria Lopez" in details
    assert "/enrollments/customers/" not in details
    assert client.get(f"/enrollments/customers/{maria.customer_id}/").status_code == 403
    assert client.get("/enrollments/", {"q": "lopez"}).status_code == 200
