from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from voxloop.feedback.models import ImportBatch


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    return render(request, "fileimport/batch_list.html", {"batches": ImportBatch.objects.all()[:100]})
