import factory
from factory.django import DjangoModelFactory

from marketplace.models import User
from providers.models import Provider

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
