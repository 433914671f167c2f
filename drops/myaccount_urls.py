"""My Account Cancel / Move Out pages, mounted at /myaccount/manage/."""

from django.urls import path

from drops import views

app_name = "drops_myaccount"
urlpatterns = [
    path("cancel/", views.myaccount_index, name="index"),
    path(
        "cancel/<int:account_id>/<slug:kind_slug>/",
        views.myaccount_confirm,
        name="confirm",
    ),
    path(
        "cancel/<int:account_id>/<slug:kind_slug>/form/",
        views.myaccount_form,
        name="form",
    ),
    path("cancel/requests/<int:pk>/", views.myaccount_request_detail, name="request_detail"),
    path(
        "cancel/requests/<int:pk>/cancel/",
        views.myaccount_request_cancel,
        name="request_cancel",
    ),
]
