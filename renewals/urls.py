from django.urls import path

from renewals import views

app_name = "renewals"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("export/", views.export, name="export"),
    path("exports/<int:pk>/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("setup/", views.setup, name="setup"),
]
