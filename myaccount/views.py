"""My Account: the customer portal."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render

from opsadmin.forms import CustomerLoginForm
from opsadmin.permissions import customer_required


class CustomerLoginView(auth_views.LoginView):
    template_name = "myaccount/login.html"
    authentication_form = CustomerLoginForm
    next_page = "/myaccount/"


@customer_required
def dashboard(request):
    return render(request, "myaccount/dashboard.html")
