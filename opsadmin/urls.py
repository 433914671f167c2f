"""Root URLs. Each app owns its URLs under its own prefix."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic.base import RedirectView

from opsadmin.views import StaffLoginView

handler403 = "opsadmin.views.permission_denied"

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg", permanent=True)),
    path("login/", StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("otp/", include("opsadmin.otp_urls")),
    path("django-admin/", admin.site.urls),
    path("configuration/history/", include("opsadmin.security_urls")),
    path("configuration/two-factor/", include("opsadmin.otp_admin_urls")),
    path("", include("opsadmin.core_urls")),
    path("enrollments/", include("enrollments.urls")),
    path("billing/", include("billing.urls")),
    path("usage/", include("usage.urls")),
    path("drops/", include("drops.urls")),
    path("prospects/", include("prospects.urls")),
    path("renewals/", include("renewals.urls")),
    path("notices/", include("notices.urls")),
    path("programs/", include("programs.urls")),
    path("partners/", include("partners.urls")),
    path("usage-authorization/", include("authorizations.urls")),
    path("api/v1/", include("partners.api_urls")),
    path("myaccount/manage/", include("drops.myaccount_urls")),
    path("myaccount/programs/", include("programs.myaccount_urls")),
    path("myaccount/", include("myaccount.urls")),
]
