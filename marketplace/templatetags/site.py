import re
from functools import lru_cache

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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


@register.simple_tag
def asset(path: str) -> str:
    """``{% static path %}`` looked up once per process (and static URL and storage): every page's layout
    names three files, and the storage's lookup (the manifest, quoting, joining) was a tenth of the home
    page's CPU (docs/benchmarks.md)."""
    return _asset_url(path, settings.STATIC_URL, settings.STORAGES["staticfiles"]["BACKEND"])


@lru_cache(maxsize=64)
def _asset_url(path: str, static_url: str | None, storage: str) -> str:
    # The static URL (script prefix included) and the storage are the key: tests and deployments change them.
    return static(path)


# A web address in plain text: up to the first space, quote or angle bracket. Punctuation that ends the
# sentence (or closes a parenthesis around the address) is not part of it.
_WEB_ADDRESS = re.compile(r"https?://[^\s<>\"']+")
_SENTENCE_END = ".,;:!?)"


@register.filter(is_safe=True)
def linkify(text: str) -> SafeString:
    """Plain text as HTML with its ``http(s)://`` addresses as links, the rest escaped: what ``urlize`` does
    for the messages we write, at a fifth of its cost (``urlize`` weighs every word as a possible address,
    and was half the rendering of an email, docs/benchmarks.md). Addresses without a scheme and email
    addresses stay text: our messages always write links in full."""
    parts: list[str] = []
    last = 0
    for match in _WEB_ADDRESS.finditer(text):
        address = match.group().rstrip(_SENTENCE_END)
        end = match.start() + len(address)
        if address.endswith("://"):
            continue  # a scheme alone is not an address
        parts.append(escape(text[last : match.start()]))
        parts.append(f'<a href="{escape(address)}" rel="nofollow">{escape(address)}</a>')
        last = end
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # every part is escaped above
