from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "site_name": settings.SITE_NAME,
        "viewer_timezone": getattr(request, "viewer_timezone", "UTC"),
        "platform_fee_percent": f"{settings.PLATFORM_FEE_PERCENT}%",
    }
