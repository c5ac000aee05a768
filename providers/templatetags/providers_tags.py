"""Template helpers for provider pages: durations, the search form on the home page, the zone picker."""

from functools import lru_cache

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from marketplace.forms import TimezoneSelect
from providers.forms import SearchForm
from providers.html import search_filters_html, search_result_cards_html
from providers.selectors import HOME_SEARCH_FORM_KEY, ProviderCard, through_cache

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


@register.simple_tag
def timezone_select(name: str, selected: str, element_id: str) -> SafeString:
    """The zone picker (``marketplace.forms.TimezoneSelect``) outside a form object, for the profile page.
    Kept per process for each zone it marks: the ~420 options are the same for everyone, and marking one in
    28 KB of them was 4% of the profile's CPU (docs/benchmarks.md). The viewer's zone is a valid zone name
    (``marketplace.timezones``), so the entries are bounded."""
    return _timezone_select(name, selected, element_id)


@lru_cache(maxsize=128)
def _timezone_select(name: str, selected: str, element_id: str) -> SafeString:
    return TimezoneSelect().render(name, selected, {"id": element_id})


@register.simple_tag
def search_result_cards(cards: list[ProviderCard], price_filtered: bool) -> SafeString:
    return search_result_cards_html(cards, price_filtered=price_filtered)


@register.simple_tag
def search_filters(form: SearchForm, cities: list[str]) -> SafeString:
    return search_filters_html(form, cities)
