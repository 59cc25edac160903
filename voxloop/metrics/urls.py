from django.urls import path

from voxloop.metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.panel, name="panel"),
    path("me/", views.my_performance, name="mine"),
    path("export.<str:fmt>", views.export, name="export"),
    path("cases/", views.drill_cases, name="drill_cases"),
    path("responses/", views.drill_responses, name="drill_responses"),
    path("feedback/", views.drill_feedback, name="drill_feedback"),
]
