"""Outbound URLs configured by staff are checked against an allowlist (no SSRF)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


class OutboundURLError(ValueError):
    pass


def check_outbound_url(url: str) -> str:
    """Return ``url`` when its scheme and host are allowed; raise ``OutboundURLError``."""
    parts = urlsplit(url)
    if parts.scheme not in settings.OUTBOUND_ALLOWED_SCHEMES:
        raise OutboundURLError(f"Scheme {parts.scheme or '(none)'} is not allowed.")
    host = (parts.hostname or "").lower()
    allowed = [h.lower() for h in settings.OUTBOUND_ALLOWED_HOSTS]
    if not host or not any(host == h or (h.startswith(".") and host.endswith(h)) for h in allowed):
        raise OutboundURLError(f"Host {host or '(none)'} is not in OUTBOUND_ALLOWED_HOSTS.")
    if parts.username or parts.password:
        raise OutboundURLError("Credentials in URLs are not allowed.")
    return url
