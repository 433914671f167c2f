"""Configuration > Two-factor (Admin): outside /otp/, so the 2FA middleware guards it."""

from django.urls import path

from opsadmin import otp_views

app_name = "otp_admin"
urlpatterns = [
    path("", otp_views.two_factor_users, name="users"),
    path("<int:user_id>/reset/", otp_views.two_factor_reset, name="reset"),
]
