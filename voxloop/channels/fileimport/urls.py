from django.urls import path

from voxloop.channels.fileimport import views

app_name = "fileimport"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/", views.upload, name="upload"),
    path("start/", views.start, name="start"),
    path("<int:pk>/", views.batch_detail, name="batch"),
    path("<int:pk>/rejected.csv", views.quarantine_csv, name="rejected_csv"),
    path("<int:pk>/rows/<int:row>/lines", views.row_lines, name="row_lines"),
]
