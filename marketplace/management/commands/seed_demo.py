"""Fill the database with demo data so every page has something to show. Idempotent: run it any time."""

from datetime import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bookings.demo import seed_demo_bookings, seed_demo_reviews
from marketplace.models import User
from payments.demo import HISTORY_DAYS, seed_demo_history, seed_demo_payout_accounts, seed_demo_payouts
from providers.demo import demo_portrait
from providers.models import Category, Provider
from providers.services import (
    availability_rules_set,
    provider_create,
    provider_update_booking_settings,
    provider_update_profile,
    service_create,
)

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on purpose; refused in production below

STAFF = ("admin@example.com", "Ada Admin", "UTC")
CLIENTS = [
    ("client@example.com", "Chris Client", "America/New_York"),
    ("maria@example.com", "Maria Lopez", "Europe/Madrid"),
    ("kenji@example.com", "Kenji Sato", "Asia/Tokyo"),
]
# The first and the last live in the platform's country (the US by default), where payouts work: seed_demo
# sets up Priya's payouts fully and leaves Lena's unfinished.
PROVIDER_USERS = [
    ("provider@example.com", "Priya Patel", "America/New_York"),
    ("tom@example.com", "Tom Becker", "Europe/Berlin"),
    ("lena@example.com", "Lena Okafor", "America/Chicago"),
]

CATEGORIES = [
    ("tutoring", "Tutoring"),
    ("music", "Music lessons"),
    ("languages", "Languages"),
    ("coaching", "Coaching"),
    ("fitness", "Fitness and yoga"),
    ("tech", "Tech mentoring"),
    ("home", "Home services"),
]

# Weekly hours patterns: (weekdays, ranges). Several ranges on a day leave a lunch break.
WEEKDAYS_SPLIT = ((0, 1, 2, 3, 4), ((time(9), time(12)), (time(14), time(18))))
EVENINGS = ((0, 1, 2, 3), ((time(17), time(21)),))
WEEKENDS = ((4, 5, 6), ((time(10), time(16)),))
MORNINGS = ((0, 1, 2, 3, 4, 5), ((time(7), time(11)),))

# (email, name, zone, city, category, headline, hours, services: (title, minutes, cents, location))
DEMO_PROVIDERS = [
    (
        "provider@example.com",
        "Priya Patel",
        "America/New_York",
        "Boston",
        "tutoring",
        "Maths and physics tutor for SAT, AP and college admissions",
        WEEKDAYS_SPLIT,
        [("Maths lesson", 60, 4500, "online"), ("Exam preparation block", 120, 8500, "online")],
    ),
    (
        "tom@example.com",
        "Tom Becker",
        "Europe/Berlin",
        "Berlin",
        "music",
        "Piano teacher, classical and jazz",
        EVENINGS,
        [("Piano lesson", 45, 3800, "provider_place"), ("Trial lesson", 30, 2000, "online")],
    ),
    (
        "lena@example.com",
        "Lena Okafor",
        "America/Chicago",
        "Chicago",
        "coaching",
        "Career coach for people changing fields",
        WEEKDAYS_SPLIT,
        [("Career session", 60, 9000, "online")],
    ),
    (
        "amara@example.com",
        "Amara Nwosu",
        "Africa/Lagos",
        "Lagos",
        "tech",
        "Senior engineer mentoring junior developers",
        EVENINGS,
        [("Code review session", 60, 5000, "online"), ("Mock interview", 90, 7000, "online")],
    ),
    (
        "sofia@example.com",
        "Sofia Rossi",
        "Europe/Rome",
        "Milan",
        "languages",
        "Italian for travellers and beginners",
        MORNINGS,
        [("Conversation practice", 30, 1800, "online"), ("Grammar lesson", 60, 3200, "online")],
    ),
    (
        "diego@example.com",
        "Diego Fernández",
        "America/Mexico_City",
        "Mexico City",
        "languages",
        "Spanish teacher, all levels",
        WEEKDAYS_SPLIT,
        [("Spanish lesson", 60, 2500, "online")],
    ),
    (
        "yuki@example.com",
        "Yuki Tanaka",
        "Asia/Tokyo",
        "Tokyo",
        "languages",
        "Japanese lessons with a native speaker",
        EVENINGS,
        [("Japanese lesson", 50, 3500, "online"), ("Kanji workshop", 90, 5500, "online")],
    ),
    (
        "hannah@example.com",
        "Hannah Schmidt",
        "Europe/Berlin",
        "Munich",
        "fitness",
        "Yoga teacher: vinyasa and mobility",
        MORNINGS,
        [("Private yoga", 60, 6000, "client_place"), ("Online yoga", 45, 3000, "online")],
    ),
    (
        "james@example.com",
        "James O'Connor",
        "Europe/Dublin",
        "Dublin",
        "home",
        "Electrician for small jobs and safety checks",
        WEEKDAYS_SPLIT,
        [("Safety check", 60, 8000, "client_place"), ("Small repair", 90, 11000, "client_place")],
    ),
    (
        "mei@example.com",
        "Mei Chen",
        "Asia/Singapore",
        "Singapore",
        "tutoring",
        "Chemistry and biology tutor",
        EVENINGS,
        [("Science lesson", 60, 5500, "online")],
    ),
    (
        "lucas@example.com",
        "Lucas Martin",
        "Europe/Paris",
        "Paris",
        "music",
        "Guitar lessons, from first chords to solos",
        WEEKENDS,
        [("Guitar lesson", 60, 4000, "provider_place")],
    ),
    (
        "olivia@example.com",
        "Olivia Brown",
        "America/New_York",
        "New York",
        "coaching",
        "Leadership coach for new managers",
        WEEKDAYS_SPLIT,
        [("Coaching session", 60, 15000, "online"), ("Intro call", 30, 5000, "online")],
    ),
    (
        "noah@example.com",
        "Noah Wilson",
        "America/Los_Angeles",
        "Los Angeles",
        "fitness",
        "Personal trainer: strength and conditioning",
        MORNINGS,
        [("Training session", 60, 7500, "client_place")],
    ),
    (
        "emma@example.com",
        "Emma Johansson",
        "Europe/Stockholm",
        "Stockholm",
        "tech",
        "Data science mentor (Python, SQL, statistics)",
        EVENINGS,
        [("Mentoring session", 60, 6500, "online")],
    ),
    (
        "arjun@example.com",
        "Arjun Mehta",
        "Asia/Kolkata",
        "Bengaluru",
        "tutoring",
        "Maths olympiad coach",
        EVENINGS,
        [("Olympiad problem session", 90, 3000, "online")],
    ),
    (
        "chloe@example.com",
        "Chloé Dubois",
        "Europe/Paris",
        "Lyon",
        "languages",
        "French lessons for business",
        WEEKDAYS_SPLIT,
        [("French lesson", 60, 4200, "online")],
    ),
    (
        "liam@example.com",
        "Liam Murphy",
        "Australia/Sydney",
        "Sydney",
        "home",
        "Plumber: leaks, taps and blocked drains",
        WEEKDAYS_SPLIT,
        [("Call-out and first hour", 60, 12000, "client_place")],
    ),
    (
        "ana@example.com",
        "Ana Souza",
        "America/Sao_Paulo",
        "São Paulo",
        "music",
        "Singing teacher, pop and bossa nova",
        EVENINGS,
        [("Singing lesson", 45, 2800, "online")],
    ),
    (
        "ole@example.com",
        "Ole Hansen",
        "Europe/Oslo",
        "Oslo",
        "coaching",
        "Study skills coach for university students",
        WEEKDAYS_SPLIT,
        [("Study skills session", 45, 4000, "online")],
    ),
    (
        "fatima@example.com",
        "Fatima Zahra",
        "Africa/Casablanca",
        "Casablanca",
        "languages",
        "Arabic for beginners",
        MORNINGS,
        [("Arabic lesson", 60, 2200, "online")],
    ),
    (
        "ben@example.com",
        "Ben Cohen",
        "Asia/Jerusalem",
        "Tel Aviv",
        "tech",
        "Web development mentor (Django, JavaScript)",
        EVENINGS,
        [("Pair programming", 60, 7000, "online"), ("Project review", 90, 9500, "online")],
    ),
    (
        "isabel@example.com",
        "Isabel García",
        "Europe/Madrid",
        "Madrid",
        "fitness",
        "Pilates instructor",
        MORNINGS,
        [("Pilates session", 50, 4500, "provider_place")],
    ),
    (
        "kwame@example.com",
        "Kwame Mensah",
        "Africa/Accra",
        "Accra",
        "tutoring",
        "English and literature tutor",
        WEEKDAYS_SPLIT,
        [("Essay coaching", 60, 2500, "online")],
    ),
    (
        "sara@example.com",
        "Sara Lindqvist",
        "Europe/Helsinki",
        "Helsinki",
        "music",
        "Violin teacher for children and adults",
        WEEKENDS,
        [("Violin lesson", 45, 3600, "provider_place")],
    ),
    (
        "ravi@example.com",
        "Ravi Kumar",
        "Asia/Kolkata",
        "Mumbai",
        "home",
        "Handyman: furniture assembly and repairs",
        WEEKENDS,
        [("Furniture assembly", 120, 6000, "client_place")],
    ),
    (
        "grace@example.com",
        "Grace Lee",
        "Asia/Seoul",
        "Seoul",
        "languages",
        "Korean conversation coach",
        EVENINGS,
        [("Korean conversation", 30, 1500, "online")],
    ),
    (
        "max@example.com",
        "Max Müller",
        "Europe/Zurich",
        "Zurich",
        "coaching",
        "Public speaking coach",
        WEEKDAYS_SPLIT,
        [("Speaking session", 60, 12000, "online")],
    ),
    (
        "zoe@example.com",
        "Zoe Clarke",
        "Pacific/Auckland",
        "Auckland",
        "fitness",
        "Running coach for first marathons",
        MORNINGS,
        [("Running plan review", 45, 5000, "online")],
    ),
    (
        "omar@example.com",
        "Omar Haddad",
        "Asia/Dubai",
        "Dubai",
        "tech",
        "Cloud and DevOps mentor",
        EVENINGS,
        [("DevOps mentoring", 60, 8500, "online")],
    ),
    (
        "nina@example.com",
        "Nina Petrova",
        "Europe/Warsaw",
        "Warsaw",
        "tutoring",
        "Physics tutor for university entrance exams",
        WEEKDAYS_SPLIT,
        [("Physics lesson", 60, 3500, "online"), ("Problem clinic", 30, 1800, "online")],
    ),
]


def demo_logins_text() -> str:
    """Who to log in as, and how to see a payout go out. ``seed_demo`` prints it when done; ``manage.py dev``
    prints it again once every process is up and keeps it in var/demo-logins.txt."""
    logins = [
        (STAFF[0], "staff"),
        (CLIENTS[0][0], "client"),
        (PROVIDER_USERS[0][0], "provider, payouts set up"),
        (PROVIDER_USERS[2][0], "provider, payout setup unfinished"),
    ]
    lines = ["Log in at /accounts/login/ with:"]
    lines += [f"  {email:<24} password: {DEMO_PASSWORD}  ({role})" for email, role in logins]
    lines += [
        "  (staff can also use /admin/; every demo account has the same password)",
        "To watch a payout go out: log in as the provider, open Payouts, then run "
        "`manage.py payouts_due_now` and `manage.py release_payouts` (README: Watching a payout happen).",
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Create demo users, 30 providers with services and hours, bookings in every state, and completed "
        "sessions with payouts paid, failed, waiting and held, and six months of past sessions. "
        "Safe to run repeatedly; never in production."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DJANGO_ENV=production.")
        parser.add_argument(
            "--history-days",
            type=int,
            default=HISTORY_DAYS,
            help=f"How many days of past sessions to make (default {HISTORY_DAYS}; 0 for none).",
        )

    def handle(self, *args, force: bool = False, history_days: int = HISTORY_DAYS, **options) -> None:
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
        self._providers()
        seed_demo_bookings(
            client=User.objects.get(email=CLIENTS[0][0]),
            provider=Provider.objects.get(user__email=PROVIDER_USERS[0][0]),
            say=self.stdout.write,
        )
        ready = Provider.objects.get(user__email=PROVIDER_USERS[0][0])
        unfinished = Provider.objects.get(user__email=PROVIDER_USERS[2][0])
        seed_demo_payout_accounts(ready=ready, unfinished=unfinished, say=self.stdout.write)
        # After the accounts: whether a payout goes or waits depends on them.
        seed_demo_payouts(
            client=User.objects.get(email=CLIENTS[0][0]),
            ready=ready,
            unfinished=unfinished,
            say=self.stdout.write,
        )
        # Its release of due payouts must not send the demo payouts above before their own step.
        seed_demo_history(
            provider=ready,
            clients=list(User.objects.filter(email__in=[email for email, _, _ in CLIENTS]).order_by("pk")),
            staff=User.objects.get(email=STAFF[0]),
            say=self.stdout.write,
            days=history_days,
        )
        # Last: it reviews the sessions every step above completed (history too): ratings come from reviews.
        seed_demo_reviews(
            clients=[User.objects.get(email=email) for email, _, _ in CLIENTS],
            say=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS("\nDemo data ready."))
        for line in demo_logins_text().splitlines():
            self.stdout.write(line)

    def _user(self, *, email: str, name: str, zone: str, is_staff: bool) -> tuple[User, bool]:
        user = User.objects.filter(email=email).first()
        if user:
            return user, False
        if is_staff:
            return User.objects.create_superuser(email, DEMO_PASSWORD, name=name, timezone=zone), True
        return User.objects.create_user(email, DEMO_PASSWORD, name=name, timezone=zone), True

    def _providers(self) -> None:
        categories = {
            slug: Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in CATEGORIES
        }
        total = len(DEMO_PROVIDERS)
        for done, (email, name, zone, city, category, headline, hours, services) in enumerate(
            DEMO_PROVIDERS, start=1
        ):
            with transaction.atomic():
                user, _created = self._user(email=email, name=name, zone=zone, is_staff=False)
                provider = provider_create(user=user, display_name=name)
                # A provider that has services was set up by an earlier run (or by hand): leave it alone.
                if Provider.objects.filter(pk=provider.pk, services__isnull=False).exists():
                    state = "exists"
                else:
                    self._set_up(provider, zone, city, categories[category], headline, hours, services)
                    state = "created"
                if not provider.photo:  # also for providers seeded before demo portraits existed
                    self._give_portrait(provider)
            self.stdout.write(f"[{done}/{total}] provider profile: {name} in {city} ({state})")

    def _give_portrait(self, provider: Provider) -> None:
        provider.refresh_from_db()
        provider_update_profile(
            provider=provider,
            display_name=provider.display_name,
            headline=provider.headline,
            bio=provider.bio,
            category=provider.category,
            city=provider.city,
            timezone=provider.timezone,
            photo=ContentFile(demo_portrait(provider.display_name), name="portrait.jpg"),
        )

    def _set_up(self, provider, zone, city, category, headline, hours, services) -> None:
        first_name = provider.display_name.split()[0]
        provider_update_profile(
            provider=provider,
            display_name=provider.display_name,
            headline=headline,
            bio=(
                f"Hello, I'm {first_name}. {headline}.\n\n"
                "I keep sessions practical and friendly, and I adapt to your pace. Book a first session to "
                "see whether we are a good fit."
            ),
            category=category,
            city=city,
            timezone=zone,
        )
        provider_update_booking_settings(
            provider=provider,
            min_notice_minutes=120,
            booking_horizon_days=60,
            buffer_before_minutes=0,
            buffer_after_minutes=15 if any(location == "client_place" for *_, location in services) else 0,
            slot_step_minutes=30,
        )
        for title, minutes, cents, location in services:
            service_create(
                provider=provider,
                title=title,
                description=f"{title} with {first_name}.",
                duration_minutes=minutes,
                price_amount=cents,
                location=location,
            )
        weekdays, ranges = hours
        availability_rules_set(
            provider=provider, rules=[(day, start, end) for day in weekdays for start, end in ranges]
        )
