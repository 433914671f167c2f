from django.urls import path

from enrollments import catalogue_views, details, find_views, views

app_name = "enrollments"
urlpatterns: list = [
    # Quick Enrollment (agents): Customer > Enroll Customer
    path("quick/", views.quick_start, name="quick_start"),
    path("quick/<uuid:token>/", views.quick_page, name="quick_page"),
    path("quick/<uuid:token>/another/", views.quick_another, name="quick_another"),
    path("quick/<uuid:token>/<slug:step>/", views.quick_step, name="quick_step"),
    # Signup Wizard (public)
    path("signup/", views.signup_start, name="signup_start"),
    path("signup/<uuid:token>/", views.signup_page, name="signup_page"),
    path("signup/<uuid:token>/<slug:step>/", views.signup_step, name="signup_step"),
    # Find an enrollment (staff): Enrollments > Find an enrollment; a customer's page
    path("", find_views.enrollment_list, name="list"),
    path("customers/<int:pk>/", find_views.customer_detail, name="customer"),
    path("<int:pk>/rescind/", views.enrollment_rescind_view, name="rescind"),
    path("<int:pk>/", details.enrollment_detail, name="detail"),
    path(
        "<int:pk>/billing-waiting/",
        details.enrollment_billing_waiting,
        name="billing_waiting",
    ),
    path("stuck/", details.enrollments_stuck_view, name="stuck"),
    # Catalogue (Ops manage, Agents view)
    path("catalogue/", catalogue_views.index, name="catalogue"),
    path("catalogue/<slug:kind>/", catalogue_views.item_list, name="catalogue_list"),
    path("catalogue/<slug:kind>/new/", catalogue_views.item_edit, name="catalogue_new"),
    path("catalogue/<slug:kind>/<int:pk>/", catalogue_views.item_edit, name="catalogue_edit"),
]
