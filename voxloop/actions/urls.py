from django.urls import path

from voxloop.actions import views

app_name = "actions"

urlpatterns = [
    path("", views.action_list, name="list"),
    path("new/", views.action_create, name="create"),
    path("annotations/", views.action_annotations, name="annotations"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/status/", views.action_status, name="status"),
    path("<int:pk>/tasks/", views.action_task_add, name="task_add"),
    path("<int:pk>/tasks/<int:task_pk>/", views.action_task_toggle, name="task_toggle"),
    path("<int:pk>/comments/", views.action_comment, name="comment"),
    path("<int:pk>/measure/", views.action_measure, name="measure"),
    path("<int:pk>/public-note/", views.action_public_note, name="public_note"),
    path("<int:pk>/answer-cases/", views.action_answer_cases, name="answer_cases"),
    path("<int:pk>/notices/", views.action_notices, name="notices"),
]
