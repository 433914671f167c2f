from django.urls import path

from prospects import views

app_name = "prospects"
urlpatterns = [
    path("", views.prospect_index, name="list"),
    path("new/", views.prospect_edit, name="new"),
    path("brokers/", views.broker_index, name="brokers"),
    path("<int:pk>/", views.prospect_show, name="detail"),
    path("<int:pk>/edit/", views.prospect_edit, name="edit"),
    path("<int:pk>/status/", views.prospect_status, name="status"),
    path("<int:pk>/notes/", views.prospect_note, name="note"),
    path("<int:pk>/contacts/new/", views.contact_new, name="contact_new"),
    path("<int:pk>/addresses/new/", views.address_edit, name="address_new"),
    path("<int:pk>/addresses/<int:address_pk>/", views.address_edit, name="address_edit"),
    path("<int:pk>/convert/", views.prospect_convert_view, name="convert"),
]
