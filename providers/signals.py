"""Cache entries that must follow a category change at once: the search forms' category list and the home
page's rendered search form (see providers.selectors.category_choices). Not domain flow: only forgetting."""

import logging

import redis
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from providers.models import Category
from providers.selectors import CATEGORY_CHOICES_KEY, HOME_SEARCH_FORM_KEY

logger = logging.getLogger(__name__)


@receiver(post_save, sender=Category, dispatch_uid="providers_category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="providers_category_deleted")
def category_changed_forget_cached_choices(**kwargs) -> None:
    # A failed delete would leave a stale list for up to ten minutes; the write itself must not fail for it.
    try:
        cache.delete_many([CATEGORY_CHOICES_KEY, HOME_SEARCH_FORM_KEY])
    except redis.RedisError as error:
        logger.warning("category cache not cleared (%s)", error)
