from django.urls import path

from partners import views

app_name = "partners"
urlpatterns: list = [
    path("imports/", views.imports, name="imports"),
    path("imports/template.<str:fmt>", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors_xlsx, name="import_errors"),
    path("keys/", views.api_keys, name="keys"),
    path("keys/<int:pk>/revoke/", views.api_key_revoke, name="key_revoke"),
]
