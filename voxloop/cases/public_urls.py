"""The customer's tracking pages, mounted at /t/ (no login: the unguessable token is the key)."""

from django.urls import path

from voxloop.cases import public_views

app_name = "tracking"
urlpatterns = [
    path("<str:token>/", public_views.tracking_page, name="page"),
]
