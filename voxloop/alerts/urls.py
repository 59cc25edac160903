"""/insights/alerts/: early warning (the list is alerts:list, one of the insight pages)."""

from django.urls import path

from voxloop.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
]
