from django.urls import path

from voxloop.automation import sla_views, views

app_name = "automation"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("automation/new/", views.automation_rule_edit, name="automation_new"),
    path("automation/<int:pk>/", views.automation_rule_edit, name="automation_edit"),
    path("routing/new/", views.routing_rule_edit, name="routing_new"),
    path("routing/<int:pk>/", views.routing_rule_edit, name="routing_edit"),
    path("sla/", sla_views.overview, name="sla"),
    path("sla/policies/new/", sla_views.policy_edit, name="policy_new"),
    path("sla/policies/<int:pk>/", sla_views.policy_edit, name="policy_edit"),
    path("sla/calendars/new/", sla_views.calendar_edit, name="calendar_new"),
    path("sla/calendars/<int:pk>/", sla_views.calendar_edit, name="calendar_edit"),
    path("sla/calendars/<int:pk>/holidays/", sla_views.holidays_upload, name="holidays_upload"),
    path("sla/escalation/new/", sla_views.level_edit, name="level_new"),
    path("sla/escalation/<int:pk>/", sla_views.level_edit, name="level_edit"),
    path("sla/<str:kind>/<int:pk>/delete/", sla_views.delete, name="sla_delete"),
    path("<str:kind>/<int:pk>/toggle/", views.toggle, name="toggle"),
    path("<str:kind>/<int:pk>/delete/", views.delete, name="delete"),
]
