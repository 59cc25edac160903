from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from voxloop.feedback.models import Customer, Feedback


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    items = Feedback.objects.select_related("customer", "product")[:50]
    return render(request, "feedback/inbox.html", {"items": items})


@login_required
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Feedback, pk=pk)
    return render(request, "feedback/detail.html", {"item": item})


@login_required
def staff_entry(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/staff_entry.html", {})


@login_required
def customers(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/customers.html", {"customers": Customer.objects.all()[:50]})


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    return render(request, "feedback/customer.html", {"customer": customer})
