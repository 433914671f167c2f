from __future__ import annotations

from django.urls import path

from authorizations import views

app_name = "authorizations"
urlpatterns = [
    path("", views.staff_list, name="staff_list"),
    path("start/", views.start, name="start"),
    path("s/<uuid:token>/", views.status_page, name="status"),
    path("s/<uuid:token>/<slug:action>/", views.status_action, name="status_action"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/<slug:action>/", views.staff_action, name="staff_action"),
    path("prospects/<int:prospect_id>/", views.prospect_page, name="prospect"),
]
