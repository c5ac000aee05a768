from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def site_name() -> str:
    """The marketplace's name where no context processor runs (the 500 page is rendered without a request)."""
    return settings.SITE_NAME
