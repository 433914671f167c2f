from django.contrib.auth import views as auth_views
from django.urls import path

from myaccount import views

app_name = "myaccount"
urlpatterns = [
    path("login/", views.CustomerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/myaccount/login/"), name="logout"),
    path("password-reset/", views.CustomerPasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        views.CustomerPasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "set-password/<uidb64>/<token>/",
        views.SetPasswordView.as_view(),
        name="set_password",
    ),
    path("language/", views.language_set, name="language_set"),
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_switch, name="account_switch"),
    path("usage/", views.usage, name="usage"),
    path("usage.csv", views.usage_csv, name="usage_csv"),
    path("usage.xml", views.usage_xml, name="usage_xml"),
    path("payments/", views.payments, name="payments"),
    path("payments/bills/<int:pk>/", views.bill_detail, name="bill"),
    path("profile/", views.profile, name="profile"),
    path("renewal/", views.renewal, name="renewal"),
    path("bill-cycle/", views.bill_cycle, name="bill_cycle"),
    path("bill-alert/", views.bill_alert, name="bill_alert"),
]
