"""Hostile input: XSS payloads stored in every free-text field render escaped on every page
(staff and My Account), in emails and in the Excel export; oversized bodies and uploads are
refused; outbound calls go only to allowed hosts and never follow a redirect."""

from __future__ import annotations

import io
import re
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import models
from openpyxl import load_workbook
from pghistory.models import Event

from opsadmin.crypto import EncryptedTextField
from opsadmin.errors import PermanentIntegrationError
from opsadmin.models import ThirdPartyProvider
from opsadmin.roles import PRODUCT_APPS
from tests.test_access_walk import _walk

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)//<b>x</b>",
)
# What must never reach a page unescaped (a browser would run or render it).
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror", "<svg onload", "<b>x</b>")
ESCAPED_MARKERS = ("&lt;script&gt;alert(1)", "&lt;img src=x onerror", "&lt;svg onload")
# Fields that are identifiers or machine values, not free text a person typed.
SKIP_NAME = re.compile(
    r"url|hash|token|password|secret|key|code|esiid|number|zip|state|idempotency|prefix|"
    r"label_key|status|kind|phone|email|username|^body$|^subject$|body_html|file_path"
)


def free_text_fields(model) -> list[models.Field]:
    fields = []
    for f in model._meta.concrete_fields:
        if not isinstance(f, models.CharField | models.TextField):
            continue
        if isinstance(f, EncryptedTextField | models.SlugField | models.EmailField):
            continue
        if f.choices or f.primary_key or SKIP_NAME.search(f.name):
            continue
        if f.max_length is not None and f.max_length < max(len(p) for p in PAYLOADS) + 8:
            continue
        fields.append(f)
    return fields


def poison_every_free_text_field() -> list[str]:
    """Write a payload into every free-text column of every row of the product's models
    (as a partner file, the API or a typo-prone agent could). Returns "model.field"s."""
    poisoned = []
    for app_label in PRODUCT_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if issubclass(model, Event) or model._meta.proxy or not model._meta.managed:
                continue
            fields = free_text_fields(model)
            if not fields or not model._default_manager.exists():
                continue
            plain = {f.attname: PAYLOADS[i % len(PAYLOADS)] for i, f in enumerate(fields)}
            unique = [name for name in plain if model._meta.get_field(name).unique]
            model._default_manager.update(**{k: v for k, v in plain.items() if k not in unique})
            for pk in model._default_manager.values_list("pk", flat=True):  # one value per row
                if unique:
                    model._default_manager.filter(pk=pk).update(
                        **{name: f"{plain[name]} #{pk}" for name in unique}
                    )
            poisoned += [f"{model._meta.label}.{f.name}" for f in fields]
    return poisoned


def urls_with_ids(ids=(1, 2, 3)) -> list[str]:
    """Every resolver URL; int converters filled with small ids (seeded rows), one int only."""
    from django.urls import get_resolver

    urls = set()
    for pattern in _walk(get_resolver()):
        if "(?P" in pattern or "(" in pattern:
            continue
        ints = re.findall(r"<int:[^>]+>", pattern)
        if len(re.findall(r"<[^>]+>", pattern)) != len(ints) or len(ints) > 2:
            continue  # uuid/slug/str routes need values we do not have here
        candidates = [pattern]
        for _ in ints:
            candidates = [
                re.sub(r"<int:[^>]+>", str(i), c, count=1) for c in candidates for i in ids
            ]
        urls.update("/" + c.lstrip("/").replace("^", "").replace("$", "") for c in candidates)
    return sorted(urls)


@pytest.fixture
def poisoned_demo(db, simulators_url):
    call_command("seed_demo", password="pw-demo-1-long", stdout=io.StringIO())
    return poison_every_free_text_field()


def test_payloads_render_escaped_on_every_page(client, poisoned_demo):
    from opsadmin.models import User

    assert len(poisoned_demo) >= 30, poisoned_demo
    assert "enrollments.Customer.first_name" in poisoned_demo
    assert "enrollments.ServiceAccount.address_line1" in poisoned_demo
    urls = urls_with_ids()
    pages = escaped_pages = 0
    problems = []
    walks = (
        (User.objects.get(username="admin"), [u for u in urls if not u.startswith("/myaccount/")]),
        (User.objects.get(username="agent"), [u for u in urls if not u.startswith("/myaccount/")]),
        (
            User.objects.get(username="demo@customer.example"),
            [u for u in urls if u.startswith("/myaccount/")],
        ),
    )
    for user, role_urls in walks:
        client.force_login(user)
        for url in role_urls:
            if "logout" in url or url.startswith("/django-admin/"):
                continue  # Django's own admin (escapes by design; is_staff superusers only)
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = client.get(url, **headers)
                if response.status_code >= 500:
                    problems.append(f"{user.username} {url}: {response.status_code}")
                    continue
                if response.status_code != 200 or response.streaming:
                    continue
                body = response.content.decode(errors="replace")
                pages += 1
                raw = [m for m in RAW_MARKERS if m in body]
                if raw:
                    problems.append(f"{user.username} {url}: unescaped {raw}")
                if any(m in body for m in ESCAPED_MARKERS):
                    escaped_pages += 1
    print(
        f"hostile input: {len(PAYLOADS)} payloads in {len(poisoned_demo)} fields, "
        f"{pages} page renders, {escaped_pages} showed escaped payloads"
    )
    assert problems == []
    assert escaped_pages >= 20  # the payloads really were on the pages


def test_payloads_in_emails_are_escaped(poisoned_demo, settings):
    from enrollments.models import Enrollment
    from notices.models import NoticeTemplate
    from notices.services import notice_email_send, notice_render

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    enrollment = Enrollment.objects.select_related("customer").order_by("pk").first()
    template = NoticeTemplate(
        code="xss-check",
        name="XSS check",
        kind="email",
        record_kind="enrollment",
        subject="Hello [CUSTOMER_NAME]",
        body="<p>Dear [CUSTOMER_NAME],</p><p>[SERVICE_ADDRESS]</p><p>[PLAN_NAME]</p>",
    )
    rendered = notice_render(template=template, record=enrollment)
    notice_email_send(rendered=rendered, to="someone@example.com")
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert not any(m in html for m in RAW_MARKERS)
    assert sum(m in html for m in ESCAPED_MARKERS) >= 2
    assert "\n" not in message.subject  # no header injection through a name


def test_payloads_and_formulas_in_the_excel_export_stay_text():
    from renewals.export import write_renewal_export
    from renewals.selectors import EXPORT_HEADERS

    hostile = [*PAYLOADS, '=HYPERLINK("http://evil.example","x")', "+cmd|'/c calc'!A0", "@SUM(1)"]
    rows = [tuple((hostile * 3)[i : i + len(EXPORT_HEADERS)]) for i in range(len(hostile))]
    out = io.BytesIO()
    assert write_renewal_export(rows=rows, out=out) == len(rows)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert len(cells) == len(rows) * len(EXPORT_HEADERS)
    assert {c.data_type for c in cells} == {"s"}  # no formula, anywhere
    assert {c.value for c in cells} == set(hostile)


# --- oversized bodies ------------------------------------------------------------------
@pytest.mark.django_db
def test_oversized_form_body_is_refused(client):
    response = client.post("/login/", {"username": "x" * (3 * 1024 * 1024), "password": "p"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_oversized_upload_is_refused_before_any_view(client, settings):
    from opsadmin.tests.factories import staff
    from partners.models import ImportBatch

    settings.MAX_REQUEST_BODY_BYTES = 1024 * 1024
    client.force_login(staff("Admin"))
    big = io.BytesIO(b"a,b,c\n" * (300 * 1024))  # 1.8 MB
    big.name = "sales.csv"
    urls = [u for u in urls_with_ids() if not u.startswith(("/myaccount/", "/api/"))]
    refused = 0
    for url in urls:
        big.seek(0)
        response = client.post(url, {"file": big})
        assert response.status_code == 413, url
        refused += 1
    assert ImportBatch.objects.count() == 0
    assert refused > 50
    # under the limit the same upload path still works as before (no 413)
    small = io.BytesIO(b"a,b,c\n")
    small.name = "sales.csv"
    assert client.post("/login/", {"file": small}).status_code != 413


# --- outbound: allowlist and no redirects ---------------------------------------------------
class _Trap(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _any(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def log_message(self, *args):
        pass


def _serve(handler) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def redirecting_server():
    """A loopback server answering every call with 307 to a trap that records any hit."""
    trap, trap_url = _serve(_Trap)
    _Trap.hits = []

    class Redirect(BaseHTTPRequestHandler):
        redirected: list[str] = []

        def _any(self):
            type(self).redirected.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"{trap_url}/stolen{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *args):
            pass

    server, url = _serve(Redirect)
    yield url, Redirect.redirected
    server.shutdown()
    trap.shutdown()


def _point_providers_at(url: str) -> None:
    provider = ThirdPartyProvider.load()
    provider.smt_enabled = True
    provider.smt_api_url = f"{url}/smt"
    provider.smt_username = "REP1"
    provider.smt_password = "pw-smt-1"
    provider.smt_duns_number = "123456789"
    provider.esg_api_url = f"{url}/esg"
    provider.esg_api_key = "esg-key"
    provider.derms_api_url = f"{url}/derms"
    provider.derms_api_key = "derms-key"
    provider.save()


def _adapter_calls():
    from billing.adapters.esg import esg_client
    from programs.adapters.derms import get_client
    from usage.adapters.smt import clear_token_cache, smt_client

    def esg():
        with esg_client() as client:
            client.create_prospect({"enrollment_id": 1}, "idem-1")

    def smt():
        clear_token_cache()
        with smt_client() as client:
            client.interval_reads(
                esiid="10089010000000001", start=date(2026, 1, 1), end=date(2026, 1, 2)
            )

    def derms():
        client = get_client()
        try:
            client.events_list()
        finally:
            client.close()

    return {"esg": esg, "smt": smt, "derms": derms}


@pytest.mark.django_db
@pytest.mark.parametrize("system", ["esg", "smt", "derms"])
def test_adapters_do_not_follow_redirects(redirecting_server, system):
    url, redirected = redirecting_server
    _point_providers_at(url)
    with pytest.raises(PermanentIntegrationError):
        _adapter_calls()[system]()
    assert len(redirected) == 1 and redirected[0].startswith(f"/{system}")
    assert _Trap.hits == []  # the redirect target never saw a request


@pytest.mark.django_db
@pytest.mark.parametrize("system", ["esg", "smt", "derms"])
@pytest.mark.parametrize(
    "bad_url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1.nip.io/x",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/x",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
def test_adapters_refuse_urls_outside_the_allowlist(system, bad_url, redirecting_server):
    url, redirected = redirecting_server
    ThirdPartyProvider.objects.update(
        smt_enabled=True,
        smt_api_url=bad_url,
        esg_api_url=bad_url,
        derms_api_url=bad_url,
        smt_username="REP1",
        smt_duns_number="123456789",
    )
    with pytest.raises(PermanentIntegrationError):
        _adapter_calls()[system]()
    assert redirected == [] and _Trap.hits == []
