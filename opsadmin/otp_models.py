"""Two-factor recovery codes and the audit of two-factor resets (imported by models.py).

Recovery codes are a django-otp device, so a code used at login verifies the session like
the authenticator does. Only a keyed digest of each code is stored (PBKDF2 with the
device's salt): the codes are shown once, when issued, and never again.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

# Enough work per guess to make an offline search of a stolen table slow, little enough
# that issuing ten codes and checking one stays well under a second.
RECOVERY_HASH_ITERATIONS = 60_000


def recovery_code_normalize(code: str) -> str:
    """What a person typed, as stored: lower case, no spaces or dashes."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_digest(code: str, salt: str) -> str:
    raw = hashlib.pbkdf2_hmac(
        "sha256",
        recovery_code_normalize(code).encode(),
        salt.encode(),
        RECOVERY_HASH_ITERATIONS,
    )
    return raw.hex()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A user's set of one-time recovery codes (one device per user; reissue replaces it)."""

    salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "recovery code set"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_RECOVERY_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """True once per code: the code is spent in the same UPDATE that checks it is unused,
        so two logins racing with one code cannot both pass."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = recovery_code_digest(str(token), self.salt)
        match = None
        for pk, stored in self.codes.filter(used_at__isnull=True).values_list("pk", "digest"):
            if hmac.compare_digest(stored, digest):
                match = pk
        spent = (
            match is not None
            and RecoveryCode.objects.filter(pk=match, used_at__isnull=True).update(
                used_at=timezone.now()
            )
            == 1
        )
        if spent:
            self.throttle_reset()
        else:
            self.throttle_increment()
        return spent

    @property
    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    """One recovery code's digest; ``used_at`` is set when it is spent."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_once")
        ]


class TwoFactorReset(models.Model):
    """Audit: an Admin removed another user's authenticator and recovery codes.

    Append-only; names are copied so the record outlives the accounts.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    reason = models.CharField(max_length=300)
    devices_removed = models.PositiveSmallIntegerField(default=0)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        permissions = [("reset_two_factor", "Can reset another staff user's two-factor")]

    def __str__(self) -> str:
        return f"2FA reset of {self.username} by {self.actor_username} at {self.at:%Y-%m-%d %H:%M}"
