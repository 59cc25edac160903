"""Public survey pages under /s/: no login; tokens are unguessable."""

from django.urls import path

from voxloop.surveys import views

app_name = "surveys_public"
urlpatterns = [
    path("o/<str:public_token>/", views.open_survey, name="open"),
    path("e/<str:public_token>/", views.embedded_survey, name="embed"),
    path("<str:token>/", views.answer, name="answer"),
]
