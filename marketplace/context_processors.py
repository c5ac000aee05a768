from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "site_name": settings.SITE_NAME,
        "viewer_timezone": getattr(request, "viewer_timezone", "UTC"),
        # Only a GET can be asked for again; a page answering a POST keeps what it has.
        "viewer_timezone_pending": request.method == "GET"
        and not getattr(request, "viewer_timezone_is_known", True),
        "platform_fee_percent": f"{settings.PLATFORM_FEE_PERCENT}%",
    }
