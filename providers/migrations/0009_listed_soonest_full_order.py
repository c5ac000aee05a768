"""The soonest order's index over listed providers in the sort's full column order (time, rating, id), as
its category twin (0008) and the other orders have: the first page is read from it with no incremental sort
of providers sharing a next available time."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0008_search_category_order_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="provider",
            name="providers_listed_soonest",
        ),
        migrations.AddIndex(
            model_name="provider",
            index=models.Index(
                models.OrderBy(models.F("next_available_at"), nulls_last=True),
                models.OrderBy(models.F("rating_average"), descending=True),
                models.F("id"),
                condition=models.Q(("is_listed", True)),
                name="providers_listed_soonest",
            ),
        ),
    ]
