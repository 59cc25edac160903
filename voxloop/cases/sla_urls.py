from django.urls import path

from voxloop.cases import sla_views

# Mounted at settings/rules/sla/ (voxloop/urls.py): the SLA pages sit beside the rules in the admin area.
app_name = "sla"
urlpatterns = [
    path("", sla_views.overview, name="overview"),
    path("policies/new/", sla_views.policy_edit, name="policy_new"),
    path("policies/<int:pk>/", sla_views.policy_edit, name="policy_edit"),
    path("calendars/new/", sla_views.calendar_edit, name="calendar_new"),
    path("calendars/<int:pk>/", sla_views.calendar_edit, name="calendar_edit"),
    path("calendars/<int:pk>/holidays/", sla_views.holidays_upload, name="holidays_upload"),
    path("calendars/<int:pk>/holidays/library/", sla_views.holidays_from_library, name="holidays_library"),
    path("escalation/new/", sla_views.level_edit, name="level_new"),
    path("escalation/<int:pk>/", sla_views.level_edit, name="level_edit"),
    path("<str:kind>/<int:pk>/delete/", sla_views.delete, name="delete"),
]
