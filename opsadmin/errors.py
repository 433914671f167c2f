"""The error types every app raises."""

from __future__ import annotations


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
    """Network errors, timeouts, 5xx, 429: worth retrying later."""


class PermanentIntegrationError(IntegrationError):
    """4xx, validation, malformed data: retrying will not help."""
