from django.core.management.base import BaseCommand

from bookings.services import booking_expire_lapsed_holds


class Command(BaseCommand):
    help = "Expire pending bookings whose payment hold has lapsed, giving their slots back. Safe any time."

    def handle(self, *args, **options) -> None:
        count = booking_expire_lapsed_holds()
        self.stdout.write(f"Expired {count} lapsed hold{'s' if count != 1 else ''}.")
