"""The project's form renderer writes ``<input>`` in Python: it must give exactly Django's template markup."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from marketplace.form_renderer import INPUT_TEMPLATES, FormRenderer

ODD_VALUES = ["", 'say "hi" & <b>bye</b>', mark_safe("<i>kept</i>"), 0, 12, Decimal("4.50"), None, "ünïcode"]
ODD_ATTRS = [
    {},
    {"required": True, "disabled": False, "maxlength": 100, "placeholder": 'e.g. "maths" <or> yoga'},
    {
        "aria-describedby": "id_q_error",
        "aria-invalid": "true",
        "data-x": mark_safe("&amp;"),
        "step": Decimal("0.01"),
    },
]
WIDGETS = [
    forms.TextInput(),
    forms.TextInput(attrs={"type": "search", "list": "city-options"}),
    forms.NumberInput(attrs={"inputmode": "decimal", "step": "1", "min": 0}),
    forms.EmailInput(),
    forms.URLInput(),
    forms.PasswordInput(render_value=True),
    forms.HiddenInput(),
    forms.DateInput(),
    forms.DateTimeInput(),
    forms.TimeInput(),
    forms.CheckboxInput(),
    forms.ClearableFileInput(),
    forms.FileInput(),
]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
@pytest.mark.parametrize("attrs", ODD_ATTRS)
def test_every_input_widget_renders_as_djangos_templates_do(widget, attrs):
    values = [
        *ODD_VALUES,
        date(2026, 6, 1),
        datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
        time(9, 30),
        True,
        False,
    ]
    for value in values:
        ours = widget.render("field", value, attrs={"id": "id_field", **attrs}, renderer=FormRenderer())
        django = widget.render("field", value, attrs={"id": "id_field", **attrs}, renderer=DjangoTemplates())
        assert ours == django, (value, attrs)


def test_the_renderer_takes_only_the_templates_that_are_just_an_input():
    from pathlib import Path

    import django

    widgets = Path(django.__file__).parent / "forms" / "templates" / "django" / "forms" / "widgets"
    plain = {
        f"django/forms/widgets/{path.name}"
        for path in widgets.glob("*.html")
        if path.read_text().strip() == '{% include "django/forms/widgets/input.html" %}'
    }
    assert plain == INPUT_TEMPLATES


def test_other_widgets_still_use_their_templates():
    select = forms.Select(choices=[("a", "A <1>"), ("b", "B")])

    assert select.render("s", "b", renderer=FormRenderer()) == select.render(
        "s", "b", renderer=DjangoTemplates()
    )
