from django.urls import path

from voxloop.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("counts/", views.inbox_counts, name="counts"),
    path("bulk/", views.bulk_cases, name="bulk"),
    path("bulk/feedback/", views.bulk_feedback, name="bulk_feedback"),
    path("views/save/", views.save_view, name="save_view"),
    path("views/<int:pk>/delete/", views.delete_view, name="delete_view"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/preview/", views.reply_preview, name="reply_preview"),
    path("<int:pk>/presence/", views.case_presence, name="presence"),
    path("<int:pk>/do/<slug:action>/", views.case_action, name="action"),
    path("macros/", views.macro_list, name="macros"),
    path("macros/new/", views.macro_edit, name="macro_new"),
    path("macros/<int:pk>/", views.macro_edit, name="macro_edit"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/decide/", views.decide, name="decide"),
]
