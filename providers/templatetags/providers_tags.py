"""Template helpers for provider pages: durations, the search form on the home page, the zone picker."""

from django import template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from marketplace.forms import TimezoneSelect
from providers.forms import SearchForm
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
    """The zone picker (``marketplace.forms.TimezoneSelect``) outside a form object, for the profile page."""
    return TimezoneSelect().render(name, selected, {"id": element_id})


@register.simple_tag
def search_result_cards(cards: list[ProviderCard], price_filtered: bool) -> SafeString:
    """The search page's result cards (texts formatted by ``providers.selectors.provider_cards``), built as
    one string: an include per card, twenty a page, cost as much as the page's SQL (docs/benchmarks.md).
    Every value is escaped, as autoescaping would."""
    price_label = "In your price range, from" if price_filtered else "From"
    html = []
    for card in cards:
        provider = card.provider
        if provider.photo:
            avatar = (
                f'<img class="avatar" src="{escape(provider.photo.url)}" alt="" width="72" height="72"'
                ' loading="lazy">'
            )
        else:
            avatar = (
                f'<span class="avatar avatar-initials" aria-hidden="true">{escape(provider.initials)}</span>'
            )
        category = f"<span>{escape(provider.category.name)}</span> · " if provider.category else ""
        next_available = (
            f'<time datetime="{escape(card.next_available_iso)}">{escape(card.next_available)}</time>'
            if card.next_available_iso
            else escape(card.next_available)
        )
        html.append(
            f'<article class="provider-card" data-testid="provider-card">{avatar}'
            '<div class="provider-card-body">'
            f'<h2 class="provider-card-name"><a href="{escape(card.url)}">'
            f"{escape(provider.display_name)}</a></h2>"
            f'<p class="provider-card-headline">{escape(provider.headline)}</p>'
            f'<p class="provider-card-meta">{category}<span>{escape(provider.city)}</span></p>'
            '<dl class="provider-card-facts">'
            f'<div><dt>{price_label}</dt><dd data-testid="from-price">{escape(card.price)}</dd></div>'
            f"<div><dt>Rating</dt><dd>{escape(card.rating)}</dd></div>"
            f'<div><dt>Next available</dt><dd data-testid="next-available">{next_available}</dd></div>'
            "</dl></div></article>"
        )
    # Safe: every value in it was escaped above.
    return mark_safe("".join(html))
