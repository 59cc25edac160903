from django.urls import path

from voxloop.channels.webform import views

app_name = "webform"
urlpatterns = [
    path("", views.feedback_form, name="form"),
    path("embed/", views.embedded_form, name="embed"),
    path("thanks/<str:token>/", views.thanks, name="thanks"),
]
