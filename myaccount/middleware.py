"""Which language a request is rendered in.

After Django's ``LocaleMiddleware`` (language cookie set by the switch, else the browser's
Accept-Language) and authentication: on customer pages a signed-in customer's stored
preference (``Customer.language``) wins; every other page is a staff screen and stays English.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def is_customer_path(path: str) -> bool:
    return path.startswith(tuple(settings.CUSTOMER_PATH_PREFIXES))


def customer_language(user) -> str | None:
    """The stored language of a signed-in customer, or None (anonymous, staff, no customer)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_customer", False):
        return None
    customer = getattr(user, "customer", None)
    return customer.language if customer is not None else None


class CustomerLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_customer_path(request.path_info):
            language = customer_language(request.user)
        else:
            language = settings.LANGUAGE_CODE
        if language and language != translation.get_language():
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
