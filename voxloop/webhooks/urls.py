"""The webhooks page for administrators. Included by the project urls at settings/webhooks/."""

from django.urls import path

from voxloop.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_edit, name="new"),
    path("<int:pk>/", views.endpoint_edit, name="edit"),
    path("<int:pk>/toggle/", views.toggle, name="toggle"),
    path("<int:pk>/rotate-secret/", views.rotate, name="rotate_secret"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/retry/", views.retry, name="retry"),
]
