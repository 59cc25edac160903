"""The API tokens page (HTML). Included by the project urls at settings/api-tokens/."""

from django.urls import path

from voxloop.api import views

app_name = "api_tokens"
urlpatterns = [
    path("", views.tokens, name="list"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
]
