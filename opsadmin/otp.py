"""Staff two-factor authentication (TOTP, django-otp).

After the password, a staff user in one of ``OTP_REQUIRED_GROUPS`` (default Ops and Admin;
add "Agent" to require it of agents too) must verify a TOTP code before any staff page,
or enroll an authenticator on first login. ``OTPRequiredMiddleware`` enforces this for
every path except the 2FA pages themselves, logout and static files, so a view that
forgets ``staff_required`` is still covered.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import quote

from django.conf import settings
from django.shortcuts import redirect
from django_otp.plugins.otp_totp.models import TOTPDevice

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
