from django.urls import path

from usage import views

app_name = "usage"
urlpatterns = [
    path("sync/", views.sync_list, name="sync"),
    path("sync/<int:service_account_id>/pull/", views.sync_pull, name="sync_pull"),
    path("premises/<int:service_account_id>/bill/", views.premise_bill, name="premise_bill"),
]
