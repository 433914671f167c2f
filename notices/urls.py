from django.urls import path

from notices import views

app_name = "notices"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("new/", views.template_edit, name="template_new"),
    path("<int:pk>/", views.template_edit, name="template_edit"),
    path("letters/", views.letter_list, name="letter_list"),
    path("letters/<int:pk>/", views.letter_detail, name="letter_detail"),
    path("letters/<int:pk>/mailed/", views.letter_mailed, name="letter_mailed"),
]
