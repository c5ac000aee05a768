"""What the busiest pages repeat up to a hundred times, built as strings in Python: the profile's slot links,
the search page's result cards and its filter fields. Through the template language (a loop or an include per
item, each with its conditions and variables) they were the pages' largest cost after their queries
(docs/benchmarks.md). Every value is escaped, as autoescaping would; each function's result is safe."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import dateformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from providers.forms import SearchForm
    from providers.selectors import ProviderCard, SlotWeek


def week_grid_html(week: SlotWeek, slot_link_start: str, picked: datetime | None) -> SafeString:
    """The week's seven days of slot links (``picked`` marked), built as one string: through the template
    language the loop (up to a hundred links, each with its condition and five variables) was the profile's
    largest cost after its query (docs/benchmarks.md). Every value is escaped, as autoescaping would."""
    link_start = escape(slot_link_start)
    days = []
    for day in week.days:
        heading = (
            f"<h3>{dateformat.format(day.day, 'D')} <span>{dateformat.format(day.day, 'j M')}</span></h3>"
        )
        if day.slots:
            links = "".join(
                f'<li><a class="slot{" is-picked" if slot.at == picked else ""}"'
                f' href="?{link_start}{escape(slot.query)}#times" aria-label="{escape(slot.label)}"'
                f' data-testid="slot">{escape(slot.clock)}</a></li>'
                for slot in day.choices
            )
            body = f'<ul class="slot-list">{links}</ul>'
        else:
            body = '<p class="no-slots">—<span class="visually-hidden">No open times</span></p>'
        days.append(f'<div class="week-day">{heading}{body}</div>')
    # Safe: every value in it was escaped above.
    return mark_safe(f'<div class="week-grid">{"".join(days)}</div>')


def search_result_cards_html(cards: list[ProviderCard], *, price_filtered: bool) -> SafeString:
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


def search_filters_html(form: SearchForm, cities: list[str]) -> SafeString:
    """The search page's filter fields and its list of cities, built as one string: through the template
    language (an include per field, a loop per select, a loop over the cities) they were a quarter of the
    page's CPU (docs/benchmarks.md). The same markup as ``includes/field.html``: a label for each field, the
    field's errors tied to it (``aria-describedby``), its value kept. Inputs are rendered by the form (its
    widget, through ``marketplace.form_renderer``); selects here, with their options."""
    html = []
    for field in form.visible_fields():
        field_id, error_id = escape(field.id_for_label), f"{escape(field.auto_id)}_error"
        errors = "".join(f'<p class="error" id="{error_id}">{escape(error)}</p>' for error in field.errors)
        if field.widget_type == "select":
            current = field.value()
            current = "" if current is None else str(current)
            options = "".join(
                f'<option value="{escape(value)}"{" selected" if str(value) == current else ""}>'
                f"{escape(label)}</option>"
                for value, label in field.field.choices  # type: ignore[attr-defined]
            )
            invalid = f' aria-invalid="true" aria-describedby="{error_id}"' if errors else ""
            control = f'<select name="{escape(field.html_name)}" id="{field_id}"{invalid}>{options}</select>'
        else:
            control = str(field)  # the widget, escaped by the form's renderer
        html.append(
            f'<div class="field{" field-invalid" if field.errors else ""}">'
            f'<label for="{field_id}">{escape(field.label)}</label>{control}{errors}</div>'
        )
    options = "".join(f'<option value="{escape(city)}">' for city in cities)
    html.append(f'<datalist id="city-options">{options}</datalist>')
    # Safe: every value in it was escaped above, and the inputs by the form's renderer.
    return mark_safe("".join(html))
