from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from voxloop.search import queries


@login_required
def results(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    found = queries.search(request.user, q)  # type: ignore[arg-type]
    return render(request, "search/results.html", {"results": found, "q": found.q})
