"""Encryption at rest for sensitive identifiers and third-party secrets.

Keys come from ``FIELD_ENCRYPTION_KEYS`` (their own, never derived from ``SECRET_KEY``);
the first key encrypts, every key decrypts, so keys rotate by prepending a new one and
running ``manage.py rotate_field_keys``. A value that no key decrypts raises: ciphertext is
never handed back as if it were data.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "Setting FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise DecryptionError("value is not in the encrypted format")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("no configured key decrypts this value") from exc


def rotate(stored: str) -> str:
    """Re-encrypt ``stored`` under the newest key."""
    return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python sees the plaintext (or "")."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(str(value))
