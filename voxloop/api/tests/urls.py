"""The project's urls plus the API tokens page, as the lead is asked to include it (settings/api-tokens/)."""

from django.urls import include, path

from voxloop.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(p, "app_name", None) == "api_tokens" for p in urlpatterns):
    urlpatterns.insert(0, path("settings/api-tokens/", include("voxloop.api.urls")))
