from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        # providers computes slots and next available times without importing bookings; we tell it which
        # time our bookings and holds take, and which reviews its profile page shows.
        from bookings.reviews import provider_profile_reviews
        from bookings.selectors import busy_intervals_source
        from providers.selectors import register_reviews_source
        from providers.slots import register_busy_source

        register_busy_source(busy_intervals_source)
        register_reviews_source(provider_profile_reviews)
