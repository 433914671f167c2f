from django.urls import path

from programs import myaccount_views as views

app_name = "programs_myaccount"
urlpatterns = [
    path("", views.summary, name="summary"),
    path("enroll/<int:program_id>/<int:account_id>/", views.enroll, name="enroll"),
    path("reservations/<int:pk>/opt-out/", views.opt_out, name="opt_out"),
    path("devices/<int:pk>/unavailability/", views.unavailability, name="unavailability"),
]
