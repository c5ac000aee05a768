"""Template helpers for provider pages: durations and the search form on the home page."""

from functools import cache

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from marketplace.timezones import timezone_choices
from providers.forms import SearchForm
from providers.selectors import HOME_SEARCH_FORM_KEY, through_cache

register = template.Library()


@register.filter
def duration(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


@register.simple_tag
def provider_search_form() -> SafeString:
    """The home page's search form. Unbound, so the same for every visitor: rendered once and kept in the
    shared cache until a category changes (providers.signals). Rendering it through the form's widget
    templates was two thirds of the home page's cost (docs/benchmarks.md)."""

    def render() -> str:
        return render_to_string(
            "providers/includes/search_form.html", {"form": SearchForm(), "compact": True}
        )

    # Safe: rendered by the template engine with autoescaping, then kept as is.
    return mark_safe(through_cache(HOME_SEARCH_FORM_KEY, render, timeout=10 * 60))


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
