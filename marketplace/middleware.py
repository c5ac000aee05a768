"""Request checks that belong to no single app."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.defaults import bad_request

_ADMIN_PREFIX = SimpleLazyObject(lambda: reverse("admin:index"))


class AdminRefusesNulBytesMiddleware:
    """Answer 400 to an admin page whose query string holds a NUL byte. PostgreSQL text cannot hold one, and
    the admin passes its list filters' values (``?status__exact=...``) to the database as they come, where
    one was a server error. The public pages check their own input (tests/test_fuzz.py); form fields refuse
    NUL bytes themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(str(_ADMIN_PREFIX)) and any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return bad_request(request, BadRequest("A NUL byte in the query string."))
        return self.get_response(request)
