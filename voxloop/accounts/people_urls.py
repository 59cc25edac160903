from django.urls import path

from voxloop.accounts import people_views

# Mounted at settings/people/ (voxloop/urls.py).
app_name = "people"
urlpatterns = [
    path("", people_views.overview, name="overview"),
    path("users/new/", people_views.user_edit, name="user_new"),
    path("users/<int:pk>/", people_views.user_edit, name="user_edit"),
    path("teams/new/", people_views.team_edit, name="team_new"),
    path("teams/<int:pk>/", people_views.team_edit, name="team_edit"),
    path("departments/new/", people_views.department_edit, name="department_new"),
    path("departments/<int:pk>/", people_views.department_edit, name="department_edit"),
]
