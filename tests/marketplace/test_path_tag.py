"""``{% path %}``: ``{% url %}`` for URLs without arguments, reversed once per process and script prefix."""

from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix


def render(text: str) -> str:
    return Template("{% load site %}" + text).render(Context())


def test_it_gives_what_url_gives():
    for name in ("home", "providers:search", "login", "signup", "bookings:mine", "admin:index"):
        assert render(f"{{% path '{name}' %}}") == render(f"{{% url '{name}' %}}") == reverse(name)


def test_a_site_served_under_a_prefix_gets_prefixed_paths():
    assert render("{% path 'login' %}") == reverse("login")
    set_script_prefix("/market/")
    try:
        assert render("{% path 'login' %}") == "/market" + reverse("login", urlconf=None).removeprefix(
            "/market"
        )
        assert render("{% path 'login' %}").startswith("/market/")
    finally:
        clear_script_prefix()
    assert not render("{% path 'login' %}").startswith("/market/")
