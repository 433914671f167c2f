from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/<int:pk>/retry/", views.retry, name="retry"),
]
