"""Privacy pages for administrators, included by the project urls at privacy/."""

from django.urls import path

from voxloop.privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.new_request, name="new"),
    path("find/", views.finder, name="finder"),
    path("retention/", views.retention_page, name="retention"),
    path("retention/run/", views.retention_run, name="retention_run"),
    path("consent/<int:customer_pk>/", views.consent, name="consent"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/verify/", views.verify, name="verify"),
    path("<int:pk>/refuse/", views.refuse, name="refuse"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("<int:pk>/correct/", views.correct, name="correct"),
    path("<int:pk>/erase/", views.ask_erasure, name="ask_erasure"),
    path("<int:pk>/approve/", views.approve_erasure, name="approve_erasure"),
    path("<int:pk>/export.zip", views.export_zip, name="export"),
]
