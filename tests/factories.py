from datetime import date, time

import factory
from django.utils.text import slugify
from factory.django import DjangoModelFactory

from marketplace.models import User
from providers.models import AvailabilityRule, Category, Provider, Service, TimeOff

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    timezone = "UTC"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ProviderFactory(DjangoModelFactory):
    class Meta:
        model = Provider

    user = factory.SubFactory(UserFactory)
    display_name = factory.LazyAttribute(lambda p: p.user.name)
    slug = factory.Sequence(lambda n: f"provider-{n}")
    timezone = "Europe/Berlin"


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.name))


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    provider = factory.SubFactory(ProviderFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    description = "One to one."
    duration_minutes = 60
    price_amount = 4500
    currency = "usd"
    location = Service.Location.ONLINE
    is_active = True


class AvailabilityRuleFactory(DjangoModelFactory):
    class Meta:
        model = AvailabilityRule

    provider = factory.SubFactory(ProviderFactory)
    weekday = 0
    start_time = time(9, 0)
    end_time = time(17, 0)


class TimeOffFactory(DjangoModelFactory):
    class Meta:
        model = TimeOff

    provider = factory.SubFactory(ProviderFactory)
    start_date = date(2030, 1, 1)
    end_date = date(2030, 1, 1)


def listed_provider(
    *,
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4),
    hours: tuple[time, time] = (time(9, 0), time(17, 0)),
    services: tuple[tuple[str, int], ...] = (("Lesson", 4500),),
    **fields,
) -> Provider:
    """A provider search lists: complete profile, active services and weekly hours, indexed for search.

    Goes through the refresh services like real edits, so ``search_vector`` and ``next_available_at`` are set.
    """
    from providers.services import provider_refresh_next_available, provider_reindex_search

    fields.setdefault("headline", "Patient and friendly teacher")
    fields.setdefault("bio", "Ten years of experience.")
    fields.setdefault("city", "Berlin")
    if "category" not in fields:
        fields["category"] = CategoryFactory(name="Tutoring", slug="tutoring")
    provider = ProviderFactory(**fields)
    for title, price in services:
        ServiceFactory(provider=provider, title=title, price_amount=price)
    for weekday in weekdays:
        AvailabilityRuleFactory(provider=provider, weekday=weekday, start_time=hours[0], end_time=hours[1])
    provider_reindex_search(provider_id=provider.pk)
    provider_refresh_next_available(provider_id=provider.pk)
    provider.refresh_from_db()
    return provider
