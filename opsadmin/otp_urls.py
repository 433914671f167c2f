from django.urls import path

from opsadmin import otp_views

app_name = "otp"
urlpatterns = [
    path("verify/", otp_views.verify, name="verify"),
    path("setup/", otp_views.setup, name="setup"),
    path("recovery-codes/", otp_views.recovery_codes, name="recovery_codes"),
]
