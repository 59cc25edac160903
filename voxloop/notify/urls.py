from django.urls import path

from voxloop.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("bell/", views.bell, name="bell"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("email/", views.email_preference, name="email_preference"),
]
