"""Run the periodic next-available refresh by hand (beat runs it every few minutes)."""

from django.core.management.base import BaseCommand

from providers.selectors import providers_to_refresh
from providers.services import provider_refresh_next_available


class Command(BaseCommand):
    help = (
        "Recompute stored next available times that time has made stale (what beat runs), or with --all "
        "every provider's; shows progress."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="Recompute every provider, stale or not.")

    def handle(self, *args, **options) -> None:
        ids = providers_to_refresh(everyone=options["all"])
        total = len(ids)
        every = max(1, total // 20)  # about twenty progress lines, however many providers there are
        for done, provider_id in enumerate(ids, start=1):
            provider_refresh_next_available(provider_id=provider_id)
            if done % every == 0 or done == total:
                self.stdout.write(f"[{done}/{total}] next available times refreshed")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} providers."))
