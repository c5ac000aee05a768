"""``{% path %}``: ``{% url %}`` for URLs without arguments, reversed once per process and script prefix; and
``{% asset %}``, the same for ``{% static %}``."""

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


# ``{% asset %}``: ``{% static %}`` looked up once per process, static URL and storage.


def test_asset_gives_what_static_gives():
    for path in ("css/site.css", "js/site.js", "favicon.svg"):
        assert render(f"{{% asset '{path}' %}}") == Template(
            "{% load static %}{% static '" + path + "' %}"
        ).render(Context())


def test_asset_follows_the_static_url_and_the_script_prefix(settings):
    settings.STATIC_URL = "https://cdn.example.test/s/"
    assert render("{% asset 'css/site.css' %}") == "https://cdn.example.test/s/css/site.css"
    settings.STATIC_URL = "static/"
    set_script_prefix("/market/")
    try:
        assert render("{% asset 'css/site.css' %}") == "/market/static/css/site.css"
    finally:
        clear_script_prefix()
    # (Django keeps the prefixed static URL once read; the tag follows whatever it says.)
    assert render("{% asset 'css/site.css' %}") == Template(
        "{% load static %}{% static 'css/site.css' %}"
    ).render(Context())
