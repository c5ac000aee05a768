"""Ratings drawn as five stars: server-rendered SVG, so a glance says what "4.3 / 5" says in words."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# One five-pointed star in a 20x20 cell.
_STAR = "M10 1.5l2.6 5.6 6.1.7-4.5 4.2 1.2 6-5.4-3-5.4 3 1.2-6L1.3 7.8l6.1-.7z"
_ROW = "".join(f'<path transform="translate({i * 20} 0)" d="{_STAR}"/>' for i in range(5))


@register.simple_tag
def stars(rating: Decimal | int | float | None, size: int = 18) -> SafeString:
    """Five stars filled up to ``rating`` (0-5; fractions fill part of a star). The SVG is hidden from
    screen readers, which read the text beside it instead: callers always print the figure too."""
    value = max(0.0, min(5.0, float(rating or 0)))
    filled_width = round(value * 20, 2)
    return format_html(
        '<svg class="stars" width="{w}" height="{h}" viewBox="0 0 100 20" aria-hidden="true" '
        'focusable="false">'
        '<g fill="#c9ced6">{row}</g>'
        '<clipPath id="stars-{key}"><rect width="{fw}" height="20"/></clipPath>'
        '<g fill="#a86400" clip-path="url(#stars-{key})">{row}</g></svg>',
        w=size * 5,
        h=size,
        row=SafeString(_ROW),
        fw=filled_width,
        key=str(filled_width).replace(".", "-"),
    )
