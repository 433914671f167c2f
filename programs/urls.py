from django.urls import path

from programs import views

app_name = "programs"
urlpatterns = [
    path("", views.index, name="index"),
    path("customers/<int:customer_id>/", views.customer_summary, name="customer_summary"),
    path(
        "customers/<int:customer_id>/enroll/<int:program_id>/<int:account_id>/",
        views.enroll,
        name="enroll",
    ),
    path("reservations/<int:pk>/opt-out/", views.opt_out, name="opt_out"),
    path("devices/<int:pk>/unavailability/", views.unavailability, name="unavailability"),
    path("devices/<int:pk>/service-call/", views.service_call, name="service_call"),
    path("enrollments/<int:pk>/unenroll/", views.unenroll, name="unenroll"),
    path("work-orders/", views.work_orders, name="work_orders"),
    path("work-orders/<int:pk>/complete/", views.work_order_complete, name="work_order_complete"),
    path("sync/", views.sync_requests, name="sync_requests"),
    path("sync/<int:pk>/retry/", views.sync_request_retry, name="sync_request_retry"),
    path("config/", views.config_index, name="config_index"),
    path("config/<slug:kind>/", views.config_list, name="config_list"),
    path("config/<slug:kind>/new/", views.config_edit, name="config_new"),
    path("config/<slug:kind>/<int:pk>/", views.config_edit, name="config_edit"),
]
