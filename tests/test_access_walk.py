"""Walk every URL the resolver knows as anonymous, customer, agent, ops and admin.

New URLs are covered automatically. Rules:
- staff pages: anonymous -> /login/, customers -> 403 (never content);
- My Account pages: anonymous -> /myaccount/login/, staff -> 403;
- public pages (logins, password reset, the Signup Wizard, the API with its own keys)
  are listed below by prefix; nothing anywhere answers with a server error.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from opsadmin.tests.factories import customer_user, staff

pytestmark = pytest.mark.django_db

PUBLIC_PREFIXES = (
    "/favicon.ico",
    "/login/",
    "/logout/",
    "/myaccount/login/",
    "/myaccount/logout/",
    "/myaccount/password-reset",
    "/myaccount/set-password",
    "/myaccount/reset",
    "/enrollments/signup",
    # the language switch: anyone may choose a language (a customer's choice is saved)
    "/myaccount/language/",
    # the shopper's usage-authorization pages (public; the status page needs its secret token)
    "/usage-authorization/start/",
    "/usage-authorization/s/",
    "/api/v1/",
    "/django-admin/",
    "/static/",
    "/media/",
    "/__debug__/",
)


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def _concrete(pattern: str) -> str:
    """Turn a route into a URL: converters get a value that exists for nobody."""
    url = re.sub(r"<int:[^>]+>", "999999", pattern)
    url = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", url)
    url = re.sub(r"<(str|slug|path):[^>]+>", "zzz", url)
    url = re.sub(r"<[^>]+>", "zzz", url)
    url = url.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + url.lstrip("/")


def all_urls() -> list[str]:
    urls = sorted({_concrete(p) for p in _walk(get_resolver())})
    return [u for u in urls if "(?P" not in u and "(" not in u]


def is_public(url: str) -> bool:
    return url.startswith(PUBLIC_PREFIXES)


def is_myaccount(url: str) -> bool:
    return url.startswith("/myaccount/")


def test_every_url_allows_and_denies_as_expected(client):
    urls = all_urls()
    assert len(urls) > 20
    users = {
        "customer": customer_user(username="a@example.com"),
        "agent": staff("Agent"),
        "ops": staff("Ops"),
        "admin": staff("Admin"),
    }
    checked = 0
    problems = []
    for role in ("anonymous", *users):
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        for url in urls:
            response = client.get(url)
            checked += 1
            status = response.status_code
            if status >= 500:
                problems.append(f"{role} {url}: {status}")
                continue
            if is_public(url):
                continue
            login_redirect = status == 302 and "login" in response.get("Location", "")
            if role == "anonymous":
                if not login_redirect and status not in (401, 403, 404, 405):
                    problems.append(f"anonymous {url}: {status} (expected a login redirect)")
            elif role == "customer" and not is_myaccount(url):
                if status not in (403, 404, 405) and not login_redirect:
                    problems.append(f"customer {url}: {status} (staff page must be denied)")
            elif (
                role != "customer"
                and is_myaccount(url)
                and status not in (403, 404, 405)
                and not login_redirect
            ):
                problems.append(f"{role} {url}: {status} (My Account must be denied to staff)")
    assert problems == []
    print(f"access walk: {len(urls)} URLs x 5 roles = {checked} GET requests")


def test_denied_roles_cannot_post_anywhere(client):
    """A POST from the wrong kind of user changes nothing: it is refused before any view logic."""
    urls = [u for u in all_urls() if not is_public(u)]
    customer = customer_user(username="b@example.com")
    agent = staff("Agent")
    problems = []
    for role, user in (("anonymous", None), ("customer", customer), ("agent", agent)):
        client.logout()
        if user is not None:
            client.force_login(user)
        for url in urls:
            if role == "customer" and is_myaccount(url):
                continue
            if role == "agent" and not is_myaccount(url):
                continue
            response = client.post(url, {"x": "1"})
            login_redirect = response.status_code == 302 and "login" in response.get("Location", "")
            if not login_redirect and response.status_code not in (401, 403, 404, 405):
                problems.append(f"{role} POST {url}: {response.status_code}")
    assert problems == []
