from django.urls import path

from opsadmin import outbox_views, views

app_name = "opsadmin"
urlpatterns = [
    path("", views.home, name="home"),
    path("outbox/", outbox_views.outbox_list, name="outbox"),
    path("outbox/<slug:name>/<int:pk>/retry/", outbox_views.outbox_retry, name="outbox_retry"),
    path("configuration/", views.configuration, name="configuration"),
    path("configuration/system-setup/", views.system_setup, name="system_setup"),
    path(
        "configuration/third-party-providers/",
        views.third_party_providers,
        name="third_party_providers",
    ),
    path("configuration/utilities/", views.utility_list, name="utility_list"),
    path("configuration/utilities/new/", views.utility_edit, name="utility_new"),
    path("configuration/utilities/<int:pk>/", views.utility_edit, name="utility_edit"),
    path("configuration/customer-types/", views.customer_type_list, name="customer_type_list"),
    path("configuration/customer-types/new/", views.customer_type_edit, name="customer_type_new"),
    path(
        "configuration/customer-types/<int:pk>/",
        views.customer_type_edit,
        name="customer_type_edit",
    ),
]
