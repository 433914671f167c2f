from django.urls import path  # noqa: F401

app_name = "programs_myaccount"
urlpatterns: list = []
