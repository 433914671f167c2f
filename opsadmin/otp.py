"""Staff two-factor authentication (TOTP, django-otp).

After the password, a staff user in one of ``OTP_REQUIRED_GROUPS`` (default Ops and Admin;
add "Agent" to require it of agents too) must verify a TOTP code before any staff page,
or enroll an authenticator on first login. ``OTPRequiredMiddleware`` enforces this for
every path except the 2FA pages themselves, logout and static files, so a view that
forgets ``staff_required`` is still covered.

Recovery codes: ten one-time codes issued when the authenticator is confirmed (shown once,
only their digests kept, see ``otp_models``), each usable once at login instead of a TOTP
code. An Admin (``opsadmin.reset_two_factor``) can reset another staff user's two-factor:
the authenticator and recovery codes are removed, the reset is recorded
(``TwoFactorReset``), and the user sets up a new authenticator at the next login.
"""

from __future__ import annotations

import base64
import io
import logging
import secrets
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsadmin.errors import ApplicationError
from opsadmin.otp_models import (
    RecoveryCode,
    RecoveryCodeDevice,
    TwoFactorReset,
    recovery_code_digest,
)

logger = logging.getLogger(__name__)

VERIFY_PATH = "/otp/verify/"
SETUP_PATH = "/otp/setup/"
EXEMPT_PREFIXES = ("/otp/", "/logout/", "/login/", "/static/", "/media/")


def otp_required_for(user) -> bool:
    """Whether ``user`` (authenticated) must pass 2FA before staff pages."""
    if not getattr(user, "is_staff_user", False):
        return False
    groups = list(getattr(settings, "OTP_REQUIRED_GROUPS", ()))
    if not groups:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=groups).exists()


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (created on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def provisioning_uri(device: TOTPDevice) -> str:
    issuer = getattr(settings, "OTP_TOTP_ISSUER", "OpsAdmin")
    label = quote(f"{issuer}:{device.user.get_username()}")
    return (
        f"otpauth://totp/{label}?secret={secret_base32(device)}&issuer={quote(issuer)}"
        f"&digits={device.digits}&period={device.step}"
    )


def qr_svg_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data: URI, drawn on the server (no CDN, no script)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper and typed.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RESET_PERM = "opsadmin.reset_two_factor"


class TwoFactorResetRefused(ApplicationError):
    """The reset is not allowed (message safe to show)."""


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def recovery_device(user) -> RecoveryCodeDevice | None:
    return RecoveryCodeDevice.objects.filter(user=user).order_by("-pk").first()


@transaction.atomic
def recovery_codes_issue(*, user) -> list[str]:
    """Ten new recovery codes for ``user``, replacing any earlier set. The plaintext is
    returned to be shown once and is not kept anywhere."""
    RecoveryCodeDevice.objects.filter(user=user).delete()
    salt = secrets.token_hex(16)
    device = RecoveryCodeDevice.objects.create(
        user=user, name="Recovery codes", confirmed=True, salt=salt
    )
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = _recovery_code()
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, digest=recovery_code_digest(c, salt)) for c in codes]
    )
    logger.info("otp.recovery_codes_issued", extra={"user_id": user.pk, "count": len(codes)})
    return codes


@transaction.atomic
def two_factor_reset(*, user, actor, reason: str, ip: str | None = None) -> TwoFactorReset:
    """Remove ``user``'s authenticator and recovery codes (they set up a new authenticator
    at their next login) and record who did it, when and why."""
    reason = " ".join(reason.split())
    if not actor.has_perm(RESET_PERM):
        raise TwoFactorResetRefused("You do not have permission to reset two-factor.")
    if not getattr(user, "is_staff_user", False):
        raise TwoFactorResetRefused("Only staff users have two-factor.")
    if user.pk == actor.pk:
        raise TwoFactorResetRefused(
            "You cannot reset your own two-factor: ask another Admin.", code="self"
        )
    if user.is_superuser and not actor.is_superuser:
        raise TwoFactorResetRefused("Only a superuser may reset a superuser's two-factor.")
    if not reason:
        raise TwoFactorResetRefused("Say why (for the audit record).", field="reason")
    totp = TOTPDevice.objects.filter(user=user)
    recovery = RecoveryCodeDevice.objects.filter(user=user)
    removed = totp.count() + recovery.count()
    totp.delete()
    recovery.delete()
    record = TwoFactorReset.objects.create(
        user=user,
        username=user.get_username(),
        actor=actor,
        actor_username=actor.get_username(),
        reason=reason,
        devices_removed=removed,
        ip=ip,
    )
    logger.warning(
        "otp.reset",
        extra={"user_id": user.pk, "actor_id": actor.pk, "devices_removed": removed},
    )
    return record


class OTPRequiredMiddleware:
    """Send a password-authenticated staff user who still owes 2FA to verify or enroll.

    Must come after ``django_otp.middleware.OTPMiddleware`` (which sets ``is_verified``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
            and otp_required_for(user)
        ):
            target = SETUP_PATH if confirmed_device(user) is None else VERIFY_PATH
            url = f"{target}?next={quote(request.get_full_path())}"
            if getattr(request, "htmx", False):
                from django_htmx.http import HttpResponseClientRedirect

                return HttpResponseClientRedirect(url)
            return redirect(url)
        return self.get_response(request)
