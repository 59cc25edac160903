from django.urls import path

from voxloop.feedback import views

app_name = "feedback"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.feedback_detail, name="detail"),
    path("new/", views.staff_entry, name="staff_entry"),
    path("customers/", views.customers, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
]
