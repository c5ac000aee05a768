from django import template

from marketplace.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ booking.price_amount|money:booking.currency }}`` → ``$45.00``."""
    if amount is None:
        return ""
    return format_money(amount, currency)
