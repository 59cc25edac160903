from django.urls import path

from voxloop.analysis import views

app_name = "analysis"
urlpatterns = [
    path("feedback/<int:pk>/", views.analysis_panel, name="panel"),
    path("feedback/<int:pk>/correct/", views.correct, name="correct"),
    path("models/", views.models_page, name="models"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
]
