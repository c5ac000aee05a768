from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.reminders import reminders_send


class Command(BaseCommand):
    help = (
        "Queue the reminder emails for confirmed sessions starting within REMINDER_HOURS_BEFORE hours (what "
        "the beat job does every 10 minutes). Each booking is reminded once: safe to run any time, twice, "
        "or beside beat."
    )

    def handle(self, *args, **options) -> None:
        count = reminders_send()
        self.stdout.write(
            f"Done: {count} booking{'s' if count != 1 else ''} reminded "
            f"(sessions starting within {settings.REMINDER_HOURS_BEFORE} hours)."
        )
