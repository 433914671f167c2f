"""The 2FA pages: verify a TOTP code, or enroll an authenticator on first login."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from opsadmin import otp
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
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
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
        {"form": form, "next": _next_url(request)},
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
            return redirect(_next_url(request))
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
