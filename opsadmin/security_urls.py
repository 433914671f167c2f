from django.urls import path

from opsadmin import security_views

app_name = "history"
urlpatterns = [
    path(
        "<slug:app_label>/<slug:model_name>/<str:pk>/",
        security_views.object_history,
        name="object",
    ),
]
