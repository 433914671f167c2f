from django.contrib.auth import views as auth_views
from django.urls import path

from myaccount import views

app_name = "myaccount"
urlpatterns = [
    path("login/", views.CustomerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/myaccount/login/"), name="logout"),
    path("", views.dashboard, name="dashboard"),
]
