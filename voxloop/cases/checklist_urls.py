from django.urls import path

from voxloop.cases import checklist_views

# Mounted at settings/checklist/ (voxloop/urls.py).
app_name = "checklist"
urlpatterns = [path("", checklist_views.checklist, name="page")]
