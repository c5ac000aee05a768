"""Template helpers for provider pages: durations and the search form on the home page."""

from functools import cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from marketplace.timezones import timezone_choices
from providers.forms import SearchForm

register = template.Library()


@register.filter
def duration(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


@register.inclusion_tag("providers/includes/search_form.html")
def provider_search_form(compact: bool = True) -> dict:
    return {"form": SearchForm(), "compact": compact}


@cache
def _timezone_options_html() -> str:
    return "".join(
        format_html('<option value="{}">{}</option>', value, label) for value, label in timezone_choices()
    )


@register.simple_tag
def timezone_options(selected: str) -> SafeString:
    """The <option>s of every zone with ``selected`` marked. Built once per process: rendering ~430 options
    through Django's widget templates cost ~40 ms per profile page (see docs/benchmarks.md)."""
    needle = format_html('<option value="{}">', selected)
    # Safe: the options were escaped when built, and the needle is format_html-escaped too.
    return mark_safe(_timezone_options_html().replace(needle, needle[:-1] + " selected>", 1))
