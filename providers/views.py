from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from providers.models import Provider


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    provider = get_object_or_404(Provider, user=request.user)
    return render(request, "providers/dashboard.html", {"provider": provider})
