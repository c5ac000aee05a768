from django.db import IntegrityError, transaction
from django.utils.text import slugify

from marketplace.models import User
from providers.models import Provider


def _unique_slug(base: str) -> str:
    root = slugify(base)[:120] or "provider"
    slug, n = root, 1
    while Provider.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


def provider_create(*, user: User, display_name: str) -> Provider:
    """Make ``user`` a provider. Idempotent: a user who already is one gets their existing profile back."""
    existing = Provider.objects.filter(user=user).first()
    if existing:
        return existing
    name = display_name.strip() or user.display_name
    # Two sign-ups with the same name can race for a slug; the unique index decides and we try again.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Provider.objects.create(
                    user=user, display_name=name, slug=_unique_slug(name), timezone=user.timezone
                )
        except IntegrityError:
            existing = Provider.objects.filter(user=user).first()
            if existing:
                return existing
    raise IntegrityError(f"Could not find a free slug for provider {name!r}")
