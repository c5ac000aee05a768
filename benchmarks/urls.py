"""The site's URLs plus a trivial view: the floor every measured page is compared with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("_bench/trivial/", trivial),
    path("", include("marketplace.urls")),
]
