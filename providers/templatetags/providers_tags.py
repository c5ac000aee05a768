"""Template helpers for provider pages: durations, the search form on the home page, the zone picker."""

from django import template
from django.utils.safestring import SafeString

from marketplace.forms import TimezoneSelect
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


@register.simple_tag
def timezone_select(name: str, selected: str, element_id: str) -> SafeString:
    """The zone picker (``marketplace.forms.TimezoneSelect``) outside a form object, for the profile page."""
    return TimezoneSelect().render(name, selected, {"id": element_id})
