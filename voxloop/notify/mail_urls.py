from django.urls import path

from voxloop.notify import mail_views

app_name = "outgoing_mail"

urlpatterns = [
    path("", mail_views.outgoing_list, name="list"),
    path("<int:pk>/", mail_views.outgoing_detail, name="detail"),
]
