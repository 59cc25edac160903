from django.contrib.auth import views as auth_views
from django.urls import path

from voxloop.accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit_log"),
    path("away/", views.toggle_away, name="toggle_away"),
]
