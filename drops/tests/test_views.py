from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from drops.models import DropCode, DropRequest, DropSettings
from drops.tests import factories as f
from drops.tests.factories import drop_rows
from opsadmin.models import SystemSetup, User

pytestmark = pytest.mark.django_db


def login(client, customer):
    client.force_login(customer.user)
    return client


def form_url(e, kind="cancel"):
    return f"/myaccount/manage/cancel/{e.service_account_id}/{kind}/form/"


def confirm_url(e, kind="cancel"):
    return f"/myaccount/manage/cancel/{e.service_account_id}/{kind}/"


def a_date(days=10):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def test_index_lists_accounts_with_both_options(client):
    e = f.active_enrollment()
    r = login(client, e.customer).get("/myaccount/manage/cancel/")
    assert r.status_code == 200
    html = r.content.decode()
    assert confirm_url(e) in html
    assert confirm_url(e, "move-out") in html


def test_hidden_option_not_offered_and_refused(client):
    e = f.active_enrollment(cust=f.customer(visible=False))
    login(client, e.customer)
    r = client.get("/myaccount/manage/cancel/")
    assert r.status_code == 200
    assert "not available online" in r.content.decode()
    assert confirm_url(e) not in r.content.decode()
    assert client.get(confirm_url(e)).status_code == 403
    assert client.get(form_url(e)).status_code == 403
    r = client.post(form_url(e), {"requested_date": a_date()})
    assert r.status_code == 403
    assert DropRequest.objects.count() == 0


def test_confirm_shows_etf_notice_with_amount(client):
    e = f.active_enrollment()
    r = login(client, e.customer).get(confirm_url(e))
    html = r.content.decode()
    assert r.status_code == 200
    assert "Do you want to proceed?" in html
    assert "early termination fee of <strong>$150.00</strong>" in html


def test_confirm_hides_etf_when_system_setup_says_so(client):
    SystemSetup.objects.update_or_create(pk=1, defaults={"show_etf_message_on_drops": False})
    e = f.active_enrollment()
    login(client, e.customer)
    html = client.get(confirm_url(e)).content.decode()
    assert "Do you want to proceed?" in html
    assert "early termination fee" not in html.lower()
    # and the customer can still drop
    r = client.post(form_url(e), {"requested_date": a_date()})
    assert r.status_code == 302
    assert DropRequest.objects.get().etf_amount == Decimal("150.00")
    detail = client.get(r["Location"]).content.decode()
    assert "Early termination fee" not in detail


def test_confirm_no_notice_when_etf_waived(client):
    e = f.active_enrollment(contract_end=timezone.localdate() + timedelta(days=10))
    html = login(client, e.customer).get(confirm_url(e)).content.decode()
    assert "early termination fee" not in html.lower()


def test_move_out_confirm_mentions_forwarding_waiver(client):
    e = f.active_enrollment()
    html = login(client, e.customer).get(confirm_url(e, "move-out")).content.decode()
    assert "$150.00" in html
    assert "forwarding address" in html


def test_zero_codes_no_reason_field(client):
    e = f.active_enrollment()
    html = login(client, e.customer).get(form_url(e)).content.decode()
    assert 'name="reason"' not in html
    assert 'name="forwarding_address_line1"' not in html
    assert 'name="meter_removal"' in html


def test_one_code_no_choice_shown_and_sent(client):
    util = f.utility()
    f.drop_code(util, "CRD", "Customer Requested Drop")
    e = f.active_enrollment(util=util)
    login(client, e.customer)
    html = client.get(form_url(e)).content.decode()
    assert 'name="reason"' not in html
    assert "Reason: Customer Requested Drop" in html
    r = client.post(form_url(e), {"requested_date": a_date()})
    assert r.status_code == 302
    assert DropRequest.objects.get().reason_code == "CRD"


def test_many_codes_dropdown(client):
    util = f.utility()
    f.drop_code(util, "MOV", "Moving away")
    f.drop_code(util, "PRI", "Found a better price")
    f.drop_code(util, "HID", "Staff only", available_in_myaccount=False)
    e = f.active_enrollment(util=util)
    login(client, e.customer)
    html = client.get(form_url(e)).content.decode()
    assert '<select name="reason"' in html
    assert '<option value="MOV">Moving away</option>' in html
    assert "HID" not in html
    r = client.post(form_url(e), {"requested_date": a_date(), "reason": "PRI"})
    assert r.status_code == 302
    assert DropRequest.objects.get().reason_code == "PRI"


@pytest.mark.parametrize("codes", [0, 1, 3])
def test_tampered_code_refused(client, codes):
    util = f.utility()
    for n in range(codes):
        f.drop_code(util, f"C{n}", f"Code {n}")
    f.drop_code(util, "STAFF", "Not for My Account", available_in_myaccount=False)
    e = f.active_enrollment(util=util)
    login(client, e.customer)
    r = client.post(form_url(e), {"requested_date": a_date(), "reason": "STAFF"})
    assert r.status_code == 422
    assert "not available" in r.content.decode() or "Select a valid choice" in r.content.decode()
    assert DropRequest.objects.count() == 0
    assert drop_rows().count() == 0


def test_date_bounds_in_form(client):
    SystemSetup.objects.update_or_create(
        pk=1, defaults={"drop_days_in_advance": 3, "drop_max_days_ahead": 60}
    )
    e = f.active_enrollment()
    login(client, e.customer)
    html = client.get(form_url(e)).content.decode()
    assert f'min="{a_date(3)}"' in html
    assert f'max="{a_date(60)}"' in html
    for bad in (a_date(2), a_date(61), a_date(-1)):
        r = client.post(form_url(e), {"requested_date": bad})
        assert r.status_code == 422
    assert DropRequest.objects.count() == 0
    assert client.post(form_url(e), {"requested_date": a_date(60)}).status_code == 302


def test_another_customers_account_is_404(client):
    e = f.active_enrollment()
    mine = f.active_enrollment()
    login(client, mine.customer)
    assert client.get(confirm_url(e)).status_code == 404
    assert client.get(form_url(e)).status_code == 404
    assert client.post(form_url(e), {"requested_date": a_date()}).status_code == 404
    assert DropRequest.objects.count() == 0
    client.post(form_url(mine), {"requested_date": a_date()})
    theirs_client = client.__class__()
    theirs_client.force_login(e.customer.user)
    mine_request = DropRequest.objects.get()
    assert (
        theirs_client.get(f"/myaccount/manage/cancel/requests/{mine_request.pk}/").status_code
        == 404
    )
    assert (
        theirs_client.post(
            f"/myaccount/manage/cancel/requests/{mine_request.pk}/cancel/"
        ).status_code
        == 404
    )


def test_staff_user_cannot_use_my_account(client):
    e = f.active_enrollment()
    staff = User.objects.create_user(username="ops1", password="x" * 12, kind=User.Kind.STAFF)
    client.force_login(staff)
    assert client.get(form_url(e)).status_code == 403


def test_double_submit_makes_one_request(client):
    e = f.active_enrollment()
    login(client, e.customer)
    data = {"requested_date": a_date(), "meter_removal": "on"}
    r1 = client.post(form_url(e), data)
    r2 = client.post(form_url(e), data)
    r3 = client.post(form_url(e), data, HTTP_HX_REQUEST="true")
    assert DropRequest.objects.count() == 1
    assert drop_rows().count() == 1
    d = DropRequest.objects.get()
    detail = f"/myaccount/manage/cancel/requests/{d.pk}/"
    assert (r1.status_code, r1["Location"]) == (302, detail)
    assert (r2.status_code, r2["Location"]) == (302, detail)
    assert (r3.status_code, r3["HX-Redirect"]) == (200, detail)


def test_htmx_invalid_form_rerenders_200(client):
    e = f.active_enrollment()
    login(client, e.customer)
    r = client.post(form_url(e), {"requested_date": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert "This field is required." in r.content.decode()


def test_move_out_form_with_forwarding_address(client):
    e = f.active_enrollment()
    login(client, e.customer)
    html = client.get(form_url(e, "move-out")).content.decode()
    assert 'name="forwarding_address_line1"' in html
    r = client.post(
        form_url(e, "move-out"),
        {
            "requested_date": a_date(),
            "meter_removal": "on",
            "forwarding_address_line1": "9 Elm St",
            "forwarding_city": "Austin",
            "forwarding_state": "TX",
            "forwarding_zip": "78701",
        },
    )
    assert r.status_code == 302
    d = DropRequest.objects.get()
    assert (d.kind, d.meter_removal, d.etf_amount, d.forwarding_city) == (
        "move_out",
        True,
        Decimal("0.00"),
        "Austin",
    )
    detail = client.get(r["Location"]).content.decode()
    assert "We received your request" in detail
    assert "No fee when you move out and give a forwarding address." in detail


def test_half_forwarding_address_refused(client):
    e = f.active_enrollment()
    login(client, e.customer)
    r = client.post(
        form_url(e, "move-out"), {"requested_date": a_date(), "forwarding_address_line1": "9 Elm"}
    )
    assert r.status_code == 422
    assert DropRequest.objects.count() == 0


def test_customer_cancels_own_drop_during_hold(client):
    util = f.utility()
    f.hold(util, 48, customer_may_cancel=True)
    e = f.active_enrollment(util=util)
    login(client, e.customer)
    client.post(form_url(e), {"requested_date": a_date()})
    d = DropRequest.objects.get()
    detail = f"/myaccount/manage/cancel/requests/{d.pk}/"
    assert "Cancel this request" in client.get(detail).content.decode()
    r = client.post(f"{detail}cancel/")
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.status == "cancelled"
    assert drop_rows().count() == 0


def test_customer_cannot_cancel_when_not_allowed(client):
    util = f.utility()
    f.hold(util, 48, customer_may_cancel=False)
    e = f.active_enrollment(util=util)
    login(client, e.customer)
    client.post(form_url(e), {"requested_date": a_date()})
    d = DropRequest.objects.get()
    detail = f"/myaccount/manage/cancel/requests/{d.pk}/"
    assert "Cancel this request" not in client.get(detail).content.decode()
    client.post(f"{detail}cancel/")
    d.refresh_from_db()
    assert d.status == "held"


# --- staff ------------------------------------------------------------------------------


def staff_user(group="Ops", **perms):
    user = User.objects.create_user(
        username=f"staff-{group}-{User.objects.count()}", password="x" * 12, kind=User.Kind.STAFF
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def test_ops_queue_release_and_cancel(client):
    util = f.utility()
    f.hold(util, 24)
    e1 = f.active_enrollment(util=util)
    e2 = f.active_enrollment(util=util)
    from drops.services import drop_request_create

    d1 = drop_request_create(
        customer=e1.customer,
        enrollment=e1,
        kind="drop",
        requested_date=timezone.localdate() + timedelta(days=10),
    ).drop_request
    d2 = drop_request_create(
        customer=e2.customer,
        enrollment=e2,
        kind="move_out",
        requested_date=timezone.localdate() + timedelta(days=12),
    ).drop_request
    client.force_login(staff_user("Ops"))
    r = client.get("/drops/")
    html = r.content.decode()
    assert r.status_code == 200
    assert str(e1.customer) in html and "CenterPoint" in html and "$150.00" in html
    assert f"/drops/{d1.pk}/release/" in html and f"/drops/{d1.pk}/cancel/" in html
    r = client.post(f"/drops/{d1.pk}/release/", {"confirmed": "yes"})
    assert r.status_code == 302
    r = client.post(f"/drops/{d2.pk}/cancel/", {"confirmed": "yes"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert f'id="drop-{d2.pk}"' in r.content.decode()
    d1.refresh_from_db()
    d2.refresh_from_db()
    assert (d1.status, d2.status) == ("released", "cancelled")
    assert list(drop_rows().values_list("subject_id", flat=True)) == [d1.pk]
    filtered = client.get("/drops/?status=cancelled", HTTP_HX_REQUEST="true").content.decode()
    assert f'id="drop-{d2.pk}"' in filtered and f'id="drop-{d1.pk}"' not in filtered


def test_release_and_cancel_need_their_own_permissions(client):
    util = f.utility()
    f.hold(util, 24)
    e = f.active_enrollment(util=util)
    from drops.services import drop_request_create

    d = drop_request_create(
        customer=e.customer,
        enrollment=e,
        kind="drop",
        requested_date=timezone.localdate() + timedelta(days=10),
    ).drop_request
    agent = staff_user("Agent")
    client.force_login(agent)
    assert client.get("/drops/").status_code == 403
    assert client.post(f"/drops/{d.pk}/release/").status_code == 403
    assert client.post(f"/drops/{d.pk}/cancel/").status_code == 403
    d.refresh_from_db()
    assert d.status == "held"
    # view + release only: no cancel
    from django.contrib.auth.models import Permission

    releaser = staff_user(None)
    releaser.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="drops",
            codename__in=["view_droprequest", "release_droprequest"],
        )
    )
    client.force_login(releaser)
    html = client.get("/drops/").content.decode()
    assert f"/drops/{d.pk}/release/" in html and f"/drops/{d.pk}/cancel/" not in html
    assert client.post(f"/drops/{d.pk}/cancel/").status_code == 403
    d.refresh_from_db()
    assert d.status == "held"


def test_drop_code_settings_screens(client):
    util = f.utility()
    client.force_login(staff_user("Ops"))
    assert client.get("/drops/settings/drop-codes/").status_code == 200
    r = client.post(
        "/drops/settings/drop-codes/new/",
        {
            "utility": util.pk,
            "code": "CRD",
            "description": "Customer Requested Drop",
            "outbound": "on",
            "available_in_myaccount": "on",
            "active": "on",
        },
    )
    assert r.status_code == 302
    code = DropCode.objects.get()
    assert (code.code, code.outbound, code.available_in_myaccount) == ("CRD", True, True)
    # an inbound code cannot be offered in My Account
    r = client.post(
        "/drops/settings/drop-codes/new/",
        {
            "utility": util.pk,
            "code": "IN",
            "description": "Inbound",
            "available_in_myaccount": "on",
        },
    )
    assert r.status_code == 422
    assert DropCode.objects.count() == 1
    assert "Customer Requested Drop" in client.get("/drops/settings/drop-codes/").content.decode()


def test_hold_settings_screen(client):
    util = f.utility()
    client.force_login(staff_user("Ops"))
    assert "Released automatically" in client.get("/drops/settings/holds/").content.decode()
    r = client.post(
        f"/drops/settings/holds/{util.pk}/",
        {"hold_hours": "24", "customer_may_cancel_during_hold": "on"},
    )
    assert r.status_code == 302
    s = DropSettings.objects.get(utility=util)
    assert (s.hold_hours, s.customer_may_cancel_during_hold) == (24, True)
    assert "24 hours" in client.get("/drops/settings/holds/").content.decode()


def test_queue_query_count_does_not_grow_with_rows(client, django_assert_max_num_queries):
    from drops.services import drop_request_create

    util = f.utility()
    for _ in range(8):
        e = f.active_enrollment(util=util)
        drop_request_create(
            customer=e.customer,
            enrollment=e,
            kind="drop",
            requested_date=timezone.localdate() + timedelta(days=10),
        )
    client.force_login(staff_user("Ops"))
    with django_assert_max_num_queries(10):
        r = client.get("/drops/")
    assert r.content.decode().count('<tr id="drop-') == 8


def test_email_leaves_out_the_fee_when_hidden():
    from django.core import mail

    from drops.services import drop_confirmation_email_send, drop_request_create

    SystemSetup.objects.update_or_create(pk=1, defaults={"show_etf_message_on_drops": False})
    e = f.active_enrollment()
    d = drop_request_create(
        customer=e.customer,
        enrollment=e,
        kind="drop",
        requested_date=timezone.localdate() + timedelta(days=10),
    ).drop_request
    drop_confirmation_email_send(drop_request_id=d.pk)
    assert "termination" not in mail.outbox[0].body.lower()


def test_beat_runs_the_hold_sweeper():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["drops-release-expired-holds"]
    assert entry["task"] == "drops.release_expired_holds"
