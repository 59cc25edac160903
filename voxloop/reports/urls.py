from django.urls import path

from voxloop.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("generate/", views.report_generate, name="generate"),
    path("schedules/new/", views.schedule_edit, name="schedule_create"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/delete/", views.schedule_delete, name="schedule_delete"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/preview/", views.report_preview, name="preview"),
    path("<int:pk>/compare/", views.report_compare, name="compare"),
    path("<int:pk>/download/<str:fmt>/", views.report_download, name="download"),
    path("<int:pk>/edit/", views.report_edit, name="edit"),
    path("<int:pk>/approve/", views.report_approve, name="approve"),
    path("<int:pk>/send/", views.report_send, name="send"),
    path("<int:pk>/test/", views.report_test, name="test"),
]
