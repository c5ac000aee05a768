from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@register.simple_tag
def site_name() -> str:
    """The marketplace's name where no context processor runs (the 500 page is rendered without a request)."""
    return settings.SITE_NAME


@register.simple_tag
def path(name: str) -> str:
    """``{% url name %}`` for a URL without arguments, reversed once per process (and script prefix): the
    navigation on every page has up to a dozen, and reversing was a tenth of the home page's CPU
    (docs/benchmarks.md). URLs with arguments keep ``{% url %}``."""
    return _reversed(name, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=256)
def _reversed(name: str, prefix: str, urlconf: str | None) -> str:
    # The prefix and urlconf are the key: reverse reads both from the current thread.
    return reverse(name, urlconf=urlconf)
