"""The 2FA pages: verify a TOTP code (or spend a recovery code), enroll an authenticator on
first login (recovery codes shown once), issue new recovery codes; and the Admin screens
that reset another user's two-factor (confirmation step, audited)."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsadmin import otp
from opsadmin.otp_models import RecoveryCode, TwoFactorReset
from opsadmin.permissions import staff_required

logger = logging.getLogger(__name__)


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError("Enter the digits shown in your authenticator app.")
        return token


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label="Recovery code",
        max_length=40,
        help_text="One of the codes you saved when you set up two-step verification. "
        "Each works once.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class ResetForm(forms.Form):
    reason = forms.CharField(
        label="Why (kept in the audit record)",
        max_length=300,
        help_text="For example: lost phone, identity checked by a call to their manager.",
    )
    confirm = forms.BooleanField(
        label="I checked who is asking, and this person must set up a new authenticator",
    )


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return settings.LOGIN_REDIRECT_URL
    return target


@staff_required()
@require_http_methods(["GET", "POST"])
def verify(request):
    device = otp.confirmed_device(request.user)
    if device is None:
        return redirect(f"{otp.SETUP_PATH}?next={_next_url(request)}")
    using_recovery = request.method == "POST" and "recovery_code" in request.POST
    form = TokenForm(request.POST if request.method == "POST" and not using_recovery else None)
    recovery_form = RecoveryCodeForm(request.POST if using_recovery else None)
    if using_recovery and recovery_form.is_valid():
        codes = otp.recovery_device(request.user)
        if codes is not None and codes.verify_token(recovery_form.cleaned_data["recovery_code"]):
            otp_login(request, codes)
            left = codes.remaining
            logger.info("otp.recovery_code_used", extra={"user_id": request.user.pk, "left": left})
            messages.warning(
                request,
                f"You signed in with a recovery code; {left} left. If you lost your phone, "
                "ask an Admin to reset your two-factor. New codes: the Recovery codes link "
                "beside your name.",
            )
            return redirect(_next_url(request))
        logger.warning("otp.recovery_code_failed", extra={"user_id": request.user.pk})
        recovery_form.add_error(
            "recovery_code", "That recovery code is not valid or was used already."
        )
    elif not using_recovery and request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            logger.info("otp.verified", extra={"user_id": request.user.pk})
            return redirect(_next_url(request))
        logger.warning("otp.failed", extra={"user_id": request.user.pk})
        form.add_error("token", "That code is not valid. Wait for the next code and try again.")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "opsadmin/otp_verify.html",
        {
            "form": form,
            "recovery_form": recovery_form,
            "using_recovery": using_recovery,
            "next": _next_url(request),
        },
        status=status,
    )


@staff_required()
@require_http_methods(["GET", "POST"])
def setup(request):
    if otp.confirmed_device(request.user) is not None:
        # Enrolled already: a second device is added by an Admin reset, not here.
        return redirect(f"{otp.VERIFY_PATH}?next={_next_url(request)}")
    device = otp.pending_device(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            logger.info("otp.enrolled", extra={"user_id": request.user.pk})
            # Shown in this response only: nothing keeps the plaintext.
            codes = otp.recovery_codes_issue(user=request.user)
            return _no_store(
                render(
                    request,
                    "opsadmin/otp_recovery_codes.html",
                    {"codes": codes, "next": _next_url(request), "first_setup": True},
                )
            )
        form.add_error("token", "That code is not valid. Check the clock on your phone.")
    uri = otp.provisioning_uri(device)
    status = 422 if request.method == "POST" else 200
    response = render(
        request,
        "opsadmin/otp_setup.html",
        {
            "form": form,
            "next": _next_url(request),
            "secret": otp.secret_base32(device),
            "uri": uri,
            "qr": otp.qr_svg_data_uri(uri),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required()
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """How many recovery codes are left; POST issues a new set (the old one stops working).

    Under /otp/ (which the 2FA middleware lets through), so it checks itself that this
    session passed two-step verification.
    """
    if otp.confirmed_device(request.user) is None:
        return redirect(f"{otp.SETUP_PATH}?next={request.path}")
    if not request.user.is_verified():
        return redirect(f"{otp.VERIFY_PATH}?next={request.path}")
    if request.method == "POST":
        codes = otp.recovery_codes_issue(user=request.user)
        return _no_store(
            render(
                request,
                "opsadmin/otp_recovery_codes.html",
                {"codes": codes, "next": settings.LOGIN_REDIRECT_URL, "first_setup": False},
            )
        )
    device = otp.recovery_device(request.user)
    return render(
        request,
        "opsadmin/otp_recovery_status.html",
        {"remaining": device.remaining if device else 0, "device": device},
    )


@staff_required(otp.RESET_PERM)
@require_GET
def two_factor_users(request):
    """Configuration > Two-factor: each staff user's two-factor and the resets done."""
    User = get_user_model()
    users = (
        User.objects.filter(kind=User.Kind.STAFF)
        .annotate(
            has_totp=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            setting_up=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=False)),
            codes_left=Count(
                "recoverycodedevice__codes",
                filter=Q(recoverycodedevice__codes__used_at__isnull=True),
            ),
        )
        .prefetch_related("groups")
        .order_by("username")
    )
    return render(
        request,
        "opsadmin/otp_users.html",
        {
            "users": users,
            "resets": TwoFactorReset.objects.all()[:50],
            "required_groups": ", ".join(getattr(settings, "OTP_REQUIRED_GROUPS", ()))
            or "no role (two-factor is off)",
        },
    )


@staff_required(otp.RESET_PERM)
@require_http_methods(["GET", "POST"])
def two_factor_reset(request, user_id: int):
    """Confirm, then reset another staff user's two-factor (audited)."""
    User = get_user_model()
    target = get_object_or_404(User, pk=user_id, kind=User.Kind.STAFF)
    form = ResetForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                otp.two_factor_reset(
                    user=target,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    ip=request.META.get("REMOTE_ADDR"),
                )
            except otp.TwoFactorResetRefused as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(
                    request,
                    f"Two-factor reset for {target.get_username()}: they set up a new "
                    "authenticator at their next login.",
                )
                return redirect("otp_admin:users")
        status = 422
    return render(
        request,
        "opsadmin/otp_reset_confirm.html",
        {
            "target": target,
            "form": form,
            "has_totp": TOTPDevice.objects.filter(user=target).exists(),
            "codes_left": RecoveryCode.objects.filter(
                device__user=target, used_at__isnull=True
            ).count(),
            "is_self": target.pk == request.user.pk,
        },
        status=status,
    )
