from django.urls import path

from voxloop.channels.fileimport import views

app_name = "fileimport"
urlpatterns = [path("", views.batch_list, name="list")]
