from django.urls import path

from voxloop.channels.email import views

app_name = "email"
urlpatterns = [path("mailboxes/", views.mailboxes, name="mailboxes")]
