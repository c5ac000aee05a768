"""Fill the database with demo data so every page has something to show. Idempotent: run it any time."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketplace.models import User
from providers.services import provider_create

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on purpose; refused in production below

STAFF = ("admin@example.com", "Ada Admin", "UTC")
CLIENTS = [
    ("client@example.com", "Chris Client", "America/New_York"),
    ("maria@example.com", "Maria Lopez", "Europe/Madrid"),
    ("kenji@example.com", "Kenji Sato", "Asia/Tokyo"),
]
PROVIDER_USERS = [
    ("provider@example.com", "Priya Patel", "Europe/London"),
    ("tom@example.com", "Tom Becker", "Europe/Berlin"),
    ("lena@example.com", "Lena Okafor", "America/Chicago"),
]


class Command(BaseCommand):
    help = "Create demo users (staff, clients, providers). Safe to run repeatedly; never in production."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DJANGO_ENV=production.")

    def handle(self, *args, force: bool = False, **options) -> None:
        if settings.IS_PRODUCTION and not force:
            raise CommandError("seed_demo creates accounts with a published password: refused in production.")
        steps = [("staff user", [STAFF]), ("clients", CLIENTS), ("providers", PROVIDER_USERS)]
        total = sum(len(rows) for _, rows in steps)
        done = 0
        for label, rows in steps:
            for email, name, zone in rows:
                done += 1
                with transaction.atomic():
                    user, created = self._user(
                        email=email, name=name, zone=zone, is_staff=label == "staff user"
                    )
                    if label == "providers":
                        provider_create(user=user, display_name=name)
                state = "created" if created else "exists"
                self.stdout.write(f"[{done}/{total}] {label}: {email} ({state})")
        self.stdout.write(self.style.SUCCESS("\nDemo data ready. Log in at /accounts/login/ with:"))
        for email, _name, _zone in [STAFF, *CLIENTS[:1], *PROVIDER_USERS[:1]]:
            self.stdout.write(f"  {email:<24} password: {DEMO_PASSWORD}")
        self.stdout.write("  (staff can also use /admin/; every demo account has the same password)")

    def _user(self, *, email: str, name: str, zone: str, is_staff: bool) -> tuple[User, bool]:
        user = User.objects.filter(email=email).first()
        if user:
            return user, False
        if is_staff:
            return User.objects.create_superuser(email, DEMO_PASSWORD, name=name, timezone=zone), True
        return User.objects.create_user(email, DEMO_PASSWORD, name=name, timezone=zone), True
