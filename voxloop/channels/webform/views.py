from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def feedback_form(request: HttpRequest) -> HttpResponse:
    return render(request, "webform/form.html", {})
