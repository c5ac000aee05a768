from django.conf import settings
from django.db import models

from marketplace.models import validate_timezone


class Provider(models.Model):
    """A person who offers sessions. Any user becomes a provider by having one of these."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider")
    display_name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True, help_text="Public URL name, unique.")
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA zone; availability is entered as wall-clock times in it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name
