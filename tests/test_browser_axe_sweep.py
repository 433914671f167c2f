"""Accessibility sweep: every screen reachable from the staff menus (as Admin) and from the
My Account menus (as the demo customer) loads without an error and has no serious or
critical axe-core violation. The pages are found from the menus themselves, so a screen
added to a menu is swept without editing this file."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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


def _sweep(page, urls: list[str]) -> tuple[list[str], list[str]]:
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
        if page.locator("h1").count() != 1:
            problems.append(f"{url}: expected one <h1>, found {page.locator('h1').count()}")
        for v in axe_violations(page):
            targets = [n["target"] for n in v["nodes"][:3]]
            problems.append(f"{url}: {v['id']} ({v['impact']}) {v['help']} at {targets}")
    return errors, problems


@pytest.fixture
def demo():
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115


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
    errors, problems = _sweep(page, STAFF_EXTRA + menu_urls)
    assert errors == [], "\n".join(errors)
    assert problems == [], "\n".join(problems)


def test_every_my_account_screen_in_the_menus_passes_axe(page, demo):
    _login(page, "/myaccount/login/", "demo@customer.example")
    page.wait_for_url("**/myaccount/")
    urls = _menu_links(page, "header.topbar") + ["/myaccount/usage/?period=monthly"]
    urls = [u for u in urls if u.startswith("/myaccount/") and "logout" not in u]
    assert "/myaccount/manage/cancel/" in urls  # residential: drop offered
    errors, problems = _sweep(page, urls)
    assert errors == [], "\n".join(errors)
    assert problems == [], "\n".join(problems)
