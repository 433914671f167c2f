"""Staff drops screens, mounted at /drops/."""

from django.urls import path

from drops import views

app_name = "drops"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/drop-codes/", views.drop_code_list, name="drop_code_list"),
    path("settings/drop-codes/new/", views.drop_code_new, name="drop_code_new"),
    path("settings/drop-codes/<int:pk>/", views.drop_code_edit, name="drop_code_edit"),
    path("settings/holds/", views.hold_list, name="hold_list"),
    path("settings/holds/<int:utility_id>/", views.hold_edit, name="hold_edit"),
]
