"""Issue #23 bug 5: no link shown to a staff user leads to a 403.

As each seeded role (agent, ops, admin from ``seed_demo``) the crawl opens every menu link,
then every link on each of those pages, then every link on the pages those lead to (list ->
detail -> its history/actions). A link that answers 403 to the person it was shown to fails
the test, with the page it was found on. The 403 page itself is styled (base layout) and
says what to do.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from enrollments.models import Customer
from opsadmin.models import User

PASSWORD = "crawl-Password-1"  # noqa: S105 - test login
HREF_RE = re.compile(r'<a\b[^>]*\bhref="([^"]+)"')
# Links that change state or leave the staff site are not followed.
SKIP = ("/logout/", "/django-admin/", "/static/", "/myaccount/", "/api/", "/favicon")
MAX_DEPTH = 3
MAX_PAGES = 400


def _links(html: str) -> list[str]:
    out = []
    for raw in HREF_RE.findall(html):
        href = unescape(raw)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if parts.path.startswith(SKIP) or parts.path.endswith((".csv", ".pdf")):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def crawl(client: Client) -> tuple[list[str], int]:
    """Breadth-first from the home page; returns (forbidden links with where shown, pages)."""
    forbidden: list[str] = []
    seen: set[str] = {"/"}
    queue: deque[tuple[str, str, int]] = deque([("/", "", 0)])
    pages = 0
    while queue and pages < MAX_PAGES:
        url, found_on, depth = queue.popleft()
        response = client.get(url)
        pages += 1
        if response.status_code == 403:
            forbidden.append(f"{url} (shown on {found_on})")
            continue
        if response.status_code != 200 or depth >= MAX_DEPTH:
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        # Only the shell's menus and the page's own content, not the same menus again.
        for link in _links(html):
            path = link.split("?")[0]
            # One page per URL shape is enough below the menus (/x/12/ stands for /x/<id>/).
            shape = re.sub(r"/\d+/", "/<id>/", path) if depth >= 1 else link
            if shape in seen:
                continue
            seen.add(shape)
            queue.append((link, url, depth + 1))
    return forbidden, pages


@pytest.fixture
def demo(db):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["agent", "ops", "admin"])
def test_no_link_shown_to_a_role_answers_403(demo, username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    forbidden, pages = crawl(client)
    assert pages >= 10, pages
    assert forbidden == [], "\n".join(forbidden)


@pytest.mark.django_db
def test_agent_sees_no_configuration_actions_and_a_styled_403(demo):
    client = Client()
    client.force_login(User.objects.get(username="agent"))
    utilities = client.get("/configuration/utilities/").content.decode()
    assert "Add utility" not in utilities
    assert "/configuration/utilities/new/" not in utilities
    assert not re.search(r'href="/configuration/utilities/\d+/"', utilities)
    assert "Oncor" in utilities  # the rows are listed, as text
    types = client.get("/configuration/customer-types/").content.decode()
    assert "Add customer type" not in types
    assert not re.search(r'href="/configuration/customer-types/\d+/"', types)
    # Typed by hand: a styled page in the staff layout that says what to do.
    denied = client.get("/configuration/utilities/new/")
    assert denied.status_code == 403
    html = denied.content.decode()
    assert '<nav aria-label="Main"' in html
    assert "<h1>You do not have access to this page</h1>" in html
    assert "ask an Admin" in html
    assert 'href="/"' in html


@pytest.mark.django_db
def test_customer_gets_the_my_account_403_in_spanish_too(demo):
    client = Client()
    client.force_login(User.objects.get(username="demo@customer.example"))
    denied = client.get("/configuration/utilities/")
    assert denied.status_code == 403
    html = denied.content.decode()
    assert '<nav aria-label="Main"' not in html
    assert "<h1>You do not have access to this page</h1>" in html
    assert 'class="button primary" href="/myaccount/">Go to my dashboard</a>' in html
    Customer.objects.filter(user__username="demo@customer.example").update(language="es")
    spanish = client.get("/configuration/utilities/")
    assert spanish.status_code == 403
    assert "<h1>No tiene acceso a esta página</h1>" in spanish.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["agent", "ops", "admin"])
def test_in_the_browser_no_menu_link_or_link_below_it_answers_403(page, username):
    """The same walk as a person: signed in through the login page, every menu entry is
    opened in Chromium, and every link on that page is requested with the same session."""
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    menu = page.locator("nav[aria-label=Main] a[href]").evaluate_all(
        "els => els.map(a => a.getAttribute('href'))"
    )
    assert menu, username
    forbidden: list[str] = []
    checked: set[str] = set()
    for url in dict.fromkeys(menu):
        response = page.goto(url)
        if response.status == 403:
            forbidden.append(f"{url} (menu)")
            continue
        links = page.locator("main a[href]").evaluate_all(
            "els => els.map(a => a.getAttribute('href'))"
        )
        for link in _links(" ".join(f'<a href="{h}">' for h in links)):
            if link in checked:
                continue
            checked.add(link)
            if page.request.get(link, max_redirects=0).status == 403:
                forbidden.append(f"{link} (shown on {url})")
    assert checked, username
    assert forbidden == [], "\n".join(forbidden)
