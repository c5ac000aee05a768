import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from marketplace.models import User


@pytest.mark.django_db
def test_email_is_stored_lower_case_and_used_to_log_in():
    user = User.objects.create_user("  Ann.Smith@Example.COM ", "pw-long-enough-1", name="Ann")

    assert user.email == "ann.smith@example.com"
    assert User.objects.get_by_natural_key("ANN.SMITH@example.com") == user


@pytest.mark.django_db
def test_database_refuses_a_case_variant_duplicate_email():
    User.objects.create_user("ann@example.com", "pw-long-enough-1")

    with pytest.raises(IntegrityError):
        # Bypass the manager's normalisation, as a careless code path might.
        User(email="ANN@example.com").save()


@pytest.mark.django_db
def test_unknown_time_zone_is_rejected():
    user = User(email="tz@example.com", timezone="Mars/Olympus_Mons")

    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])

    assert "timezone" in error.value.message_dict


@pytest.mark.django_db
def test_superuser_is_staff():
    admin = User.objects.create_superuser("root@example.com", "pw-long-enough-1")

    assert admin.is_staff
    assert admin.is_superuser


@pytest.mark.django_db
def test_display_name_falls_back_to_the_email_local_part():
    assert User(email="kim@example.com").display_name == "kim"
    assert User(email="kim@example.com", name="Kim Lee").display_name == "Kim Lee"
