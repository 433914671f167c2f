"""Accessibility sweep: every screen reachable from the staff menus (as Admin) and from the
My Account menus (as the demo customer) loads without an error and has no serious or
critical axe-core violation. The pages are found from the menus themselves, so a screen
added to a menu is swept without editing this file."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from conftest import axe_violations
from enrollments.models import Customer, ServiceAccount
from opsadmin.models import CustomerType, User
from opsadmin.tests.factories import staff
from usage.models import Bill

DEMO_ESIID = "1008901023806680370100"  # seed_demo's premise
PASSWORD = "sweep-Password-1"  # noqa: S105 - test login

# Settings pages one level below a menu entry (index pages whose tiles lead to lists).
STAFF_EXTRA = ["/", "/drops/settings/", "/enrollments/catalogue/"]


def _login(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").or_(page.get_by_label("Email")).fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").or_(
        page.get_by_role("button", name="Sign in")
    ).click()
    page.wait_for_load_state()


def _menu_links(page, container: str) -> list[str]:
    hrefs = page.locator(f"{container} a[href]").evaluate_all(
        "els => els.map(a => a.getAttribute('href'))"
    )
    return [h.split("#")[0] for h in hrefs if h.startswith("/")]


def _sweep(page, urls: list[str], *, charts: bool = False) -> tuple[list[str], list[str]]:
    """Visit each URL once; return (errors, violations) as readable lines."""
    errors: list[str] = []
    problems: list[str] = []
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    seen: set[str] = set()
    for url in urls:
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        page.wait_for_load_state("load")
        status = response.status if response else 0
        if status >= 400 or status == 0:
            errors.append(f"{url}: HTTP {status}")
            continue
        if page.url.rstrip("/").endswith("/login"):
            errors.append(f"{url}: sent to the login page")
            continue
        if js_errors:
            errors.append(f"{url}: JavaScript error {js_errors[:]}")
            js_errors.clear()
        if charts and page.locator("[data-plotly]").count():
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-plotly]')]"
                ".every(el => el.dataset.drawn === 'true')"
            )
        if page.locator("h1").count() != 1:
            problems.append(f"{url}: expected one <h1>, found {page.locator('h1').count()}")
        for v in axe_violations(page):
            targets = [n["target"] for n in v["nodes"][:3]]
            problems.append(f"{url}: {v['id']} ({v['impact']}) {v['help']} at {targets}")
    return errors, problems


@pytest.fixture
def demo():
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_staff_screen_in_the_menus_passes_axe(page, demo):
    _login(page, "/login/", "admin")
    page.goto("/")
    menu_urls = _menu_links(page, "nav[aria-label=Main]")
    # Admin holds every permission: each menu is present (names pinned so a lost menu fails).
    summaries = page.locator("nav[aria-label=Main] summary").all_inner_texts()
    assert summaries == [
        "Customer",
        "Enrollments",
        "Drops",
        "Prospects",
        "Renewals",
        "Programs",
        "Catalogue",
        "Configuration",
    ]
    assert len(set(menu_urls)) >= 25, menu_urls
    # Keyboard: Enter opens a menu, Escape closes it and focus returns to its button.
    drops = page.locator("nav[aria-label=Main] summary", has_text="Drops")
    drops.focus()
    page.keyboard.press("Enter")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Drop Codes").wait_for(state="visible")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert page.locator(".menu details[open]").count() == 0
    assert drops.evaluate("el => el === document.activeElement")
    errors, problems = _sweep(page, STAFF_EXTRA + menu_urls)
    assert errors == [], "\n".join(errors)
    assert problems == [], "\n".join(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_my_account_screen_in_the_menus_passes_axe(page, demo):
    _login(page, "/myaccount/login/", "demo@customer.example")
    page.wait_for_url("**/myaccount/")
    urls = _menu_links(page, "header.topbar") + ["/myaccount/usage/"]
    urls = [u for u in urls if u.startswith("/myaccount/") and "logout" not in u]
    assert "/myaccount/manage/cancel/" in urls  # residential: drop offered
    # No usage has arrived yet (no worker pulled it): a clear empty state, not empty axes.
    errors, problems = _sweep(page, ["/myaccount/", "/myaccount/usage/"])
    assert page.locator("[data-plotly]").count() == 0
    assert (
        page.locator(".empty-state")
        .inner_text()
        .startswith("No usage yet — data usually arrives within a day of your start date.")
    )
    # Bills arrive: the charts are drawn and every page is swept with data on it.
    account = ServiceAccount.objects.get(esiid=DEMO_ESIID)
    first = date.today().replace(day=1)
    for months_back in range(1, 4):
        end = first - timedelta(days=1 + 31 * (months_back - 1))
        start = end.replace(day=1)
        Bill.objects.create(
            service_account=account,
            period_start=start,
            period_end=end,
            kwh=Decimal("900") + months_back,
            amount=Decimal("120.50"),
            due_date=end + timedelta(days=20),
            paid=months_back > 1,
        )
    more_errors, more_problems = _sweep(page, urls, charts=True)
    page.goto("/myaccount/usage/")
    page.wait_for_selector("[data-plotly][data-drawn=true]")
    assert page.locator(".empty-state").count() == 0
    assert page.locator("[data-plotly]").count() == page.locator("[data-drawn=true]").count() >= 1
    errors += more_errors
    problems += more_problems
    assert errors == [], "\n".join(errors)
    assert problems == [], "\n".join(problems)


# --- the menus without a browser: each role sees exactly what it may open ----------------


def _nav_hrefs(html: str) -> list[str]:
    nav = html[html.index('<nav aria-label="Main"') : html.index("</nav>")]
    return re.findall(r'href="([^"#]+)', nav)


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["Agent", "Ops", "Admin"])
def test_every_menu_link_opens_for_the_role_that_sees_it(client, group):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115
    client.force_login(staff(group, username=f"menu-{group.lower()}"))
    home = client.get("/")
    assert home.status_code == 200
    hrefs = _nav_hrefs(home.content.decode())
    assert hrefs, group
    statuses = {url: client.get(url).status_code for url in hrefs}
    assert {url: code for url, code in statuses.items() if code != 200} == {}
    # The home tiles are the same screens as the menus.
    tiles = re.findall(r'class="tile" href="([^"#]+)', home.content.decode())
    assert tiles == hrefs
    if group == "Agent":
        assert "/enrollments/quick/" in hrefs
        assert not {"/configuration/", "/configuration/system-setup/", "/partners/keys/"} & set(
            hrefs
        )
    if group == "Admin":
        assert len(hrefs) == 34  # + Find an enrollment, Two-factor, Outboxes (issue #23)


@pytest.mark.django_db
@pytest.mark.parametrize(("type_code", "offered"), [("residential", True), ("commercial", False)])
def test_manage_menu_offers_cancel_only_when_the_customer_type_allows(client, type_code, offered):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = User.objects.get(username="demo@customer.example")
    Customer.objects.filter(user=user).update(
        customer_type=CustomerType.objects.get(code=type_code)
    )
    client.force_login(user)
    html = client.get("/myaccount/profile/").content.decode()
    menu = html[html.index('class="menu manage-menu"') : html.index("</details>")]
    assert ('href="/myaccount/manage/cancel/"' in menu) is offered
    assert 'href="/myaccount/programs/"' in menu
    assert 'href="/myaccount/profile/" aria-current="page"' in menu
