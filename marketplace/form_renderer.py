"""The project's form renderer: Django's, with the one widget template nearly every field uses, ``<input>``,
written in Python.

Django renders each input through two templates (``text.html`` including ``input.html`` including
``attrs.html``): the search page's filter form spent more on its four inputs than on its selects and
labels (docs/benchmarks.md). The markup is exactly the templates' (tests/marketplace/test_form_renderer.py
renders every input widget both ways); any other widget still goes through its template.
"""

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape

# The widget templates whose whole body is ``{% include "django/forms/widgets/input.html" %}`` (Django 5.2).
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)


def _text(value: Any) -> str:
    # As the template does: ``stringformat:'s'`` then autoescape, which leaves safe strings as they are.
    return conditional_escape(value if isinstance(value, str) else str(value))


def input_html(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/input.html`` with its ``attrs.html``, for a widget's template context."""
    html = [f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"']
    if widget["value"] is not None:
        html.append(f' value="{_text(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is False:
            continue
        html.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_text(value)}"')
    html.append(">")
    return "".join(html)


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        return super().render(template_name, context, request)
