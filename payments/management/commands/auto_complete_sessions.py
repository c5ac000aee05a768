from django.conf import settings
from django.core.management.base import BaseCommand

from payments.payouts import sessions_auto_complete


class Command(BaseCommand):
    help = (
        "Complete confirmed sessions that ended more than AUTO_COMPLETE_HOURS ago and schedule their payouts "
        "(what the beat job does every 15 minutes). Safe any time."
    )

    def handle(self, *args, **options) -> None:
        count = sessions_auto_complete()
        self.stdout.write(
            f"Completed {count} session{'s' if count != 1 else ''} that ended more than "
            f"{settings.AUTO_COMPLETE_HOURS} hours ago."
        )
