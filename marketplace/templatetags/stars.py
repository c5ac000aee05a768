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


@register.simple_tag
def rating_breakdown(breakdown: list[tuple[int, int]]) -> SafeString:
    """How many reviews gave each number of stars, as a bar per row (5 down to 1). Each row says its figure
    in words for screen readers and anyone who prefers reading; the bars are drawn beside it."""
    total = sum(count for _, count in breakdown)
    rows = []
    for stars_given, count in breakdown:
        width = round(100 * count / total, 1) if total else 0
        rows.append(
            format_html(
                '<li><span class="breakdown-label">{stars} star{s}</span>'
                '<svg class="breakdown-bar" viewBox="0 0 100 10" preserveAspectRatio="none" '
                'aria-hidden="true" focusable="false"><rect width="100" height="10" rx="2" fill="#e3e7ed"/>'
                '<rect width="{width}" height="10" rx="2" fill="#a86400"/></svg>'
                '<span class="breakdown-count">{count}'
                '<span class="visually-hidden"> review{plural}</span></span>'
                "</li>",
                stars=stars_given,
                s="" if stars_given == 1 else "s",
                width=width,
                count=count,
                plural="" if count == 1 else "s",
            )
        )
    return format_html(
        '<ul class="rating-breakdown" data-testid="rating-breakdown">{}</ul>', SafeString("".join(rows))
    )
