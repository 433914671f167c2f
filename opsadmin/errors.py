"""The error types every app raises."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_AFTER_MAX_SECONDS = 3600


class ApplicationError(Exception):
    """A business rule refused the action; the message is safe to show a user."""

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class IntegrationError(Exception):
    """An outside system failed."""


class TransientIntegrationError(IntegrationError):
    """Network errors, timeouts, 5xx, 429: worth retrying later.

    ``retry_after`` is the wait in seconds the vendor asked for (a ``Retry-After`` header
    on a 429 or 503), or None; outboxes never try again sooner than that.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 section 10.2.3: a number of
    seconds or an HTTP-date), capped at an hour; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), RETRY_AFTER_MAX_SECONDS))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return float(min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS))


class PermanentIntegrationError(IntegrationError):
    """4xx, validation, malformed data: retrying will not help."""


class MalformedAnswerError(PermanentIntegrationError):
    """A success status whose body breaks the contract (truncated, not JSON, fields missing).

    Permanent (asking again gets the same garble), but unlike a refusal the vendor may have
    carried the request out: a caller without an idempotency key looks before asking again.
    """
