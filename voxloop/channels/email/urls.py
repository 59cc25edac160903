from django.urls import path

from voxloop.channels.email import views

app_name = "email"
urlpatterns = [
    path("mailboxes/", views.mailboxes, name="mailboxes"),
    path("mailboxes/<int:pk>/poll/", views.poll_now, name="poll"),
    path("upload/", views.upload, name="upload"),
]
