from django.urls import path

from voxloop.automation import views

app_name = "automation"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("automation/new/", views.automation_rule_edit, name="automation_new"),
    path("automation/<int:pk>/", views.automation_rule_edit, name="automation_edit"),
    path("routing/new/", views.routing_rule_edit, name="routing_new"),
    path("routing/<int:pk>/", views.routing_rule_edit, name="routing_edit"),
    path("<str:kind>/<int:pk>/toggle/", views.toggle, name="toggle"),
    path("<str:kind>/<int:pk>/delete/", views.delete, name="delete"),
]
