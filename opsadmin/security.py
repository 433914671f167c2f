"""Request-level guards that sit in front of every view."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks
from django.http import HttpResponse

logger = logging.getLogger(__name__)


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than ``MAX_REQUEST_BODY_BYTES`` (413).

    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` caps form fields but not file uploads, which Django
    streams to a temporary file of any size; this cap covers both, before anything reads
    the body. (The reverse proxy should enforce the same limit for chunked bodies.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse("Bad Content-Length.", status=400, content_type="text/plain")
        if limit and length > limit:
            logger.warning(
                "request.too_large", extra={"path": request.path, "content_length": length}
            )
            return HttpResponse(
                f"The request is too large (limit {limit // (1024 * 1024)} MB).",
                status=413,
                content_type="text/plain",
            )
        return self.get_response(request)


@checks.register(checks.Tags.security, deploy=True)
def otp_required_groups_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``check --deploy``: Ops and Admin must keep two-factor sign-in."""
    groups = set(getattr(settings, "OTP_REQUIRED_GROUPS", ()))
    missing = sorted({"Ops", "Admin"} - groups)
    if missing:
        return [
            checks.Warning(
                f"OTP_REQUIRED_GROUPS leaves out {', '.join(missing)}: those staff sign in "
                "with a password alone.",
                hint='Keep at least OTP_REQUIRED_GROUPS="Ops,Admin".',
                id="opsadmin.W001",
            )
        ]
    return []
